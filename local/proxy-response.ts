// A Lambda proxy integration result (payload 1.0) as API Gateway turns it into an HTTP response:
// `statusCode`, `headers` and `multiValueHeaders` (merged), `body` (base64-decoded when
// `isBase64Encoded`). Anything else is a malformed proxy response, which API Gateway answers with
// a 502. Without a content type it sends `application/json`.

interface HttpResponse {
  readonly statusCode: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  readonly body: Buffer;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isScalar = (value: unknown): value is string | number | boolean =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

/** The HTTP response for a proxy result, or undefined when the result is malformed (502). */
export function readProxyResult(result: unknown): HttpResponse | undefined {
  if (!isRecord(result)) return undefined;
  const { statusCode, body, headers, multiValueHeaders, isBase64Encoded } = result;
  if (
    typeof statusCode !== 'number' ||
    !Number.isInteger(statusCode) ||
    statusCode < 100 ||
    statusCode > 599
  ) {
    return undefined;
  }
  if (body !== undefined && body !== null && typeof body !== 'string') return undefined;
  if (isBase64Encoded !== undefined && typeof isBase64Encoded !== 'boolean') return undefined;
  const merged: Record<string, string[]> = {};
  const add = (name: string, value: string | number | boolean) => {
    const lower = name.toLowerCase();
    merged[lower] = [...(merged[lower] ?? []), String(value)];
  };
  if (multiValueHeaders !== undefined && multiValueHeaders !== null) {
    if (!isRecord(multiValueHeaders)) return undefined;
    for (const [name, values] of Object.entries(multiValueHeaders)) {
      if (!Array.isArray(values) || !values.every(isScalar)) return undefined;
      for (const value of values) add(name, value);
    }
  }
  if (headers !== undefined && headers !== null) {
    if (!isRecord(headers)) return undefined;
    for (const [name, value] of Object.entries(headers)) {
      if (!isScalar(value)) return undefined;
      // The same name and value in both maps appears once (API Gateway merges the two lists).
      if (!(merged[name.toLowerCase()] ?? []).includes(String(value))) add(name, value);
    }
  }
  if (merged['content-type'] === undefined) merged['content-type'] = ['application/json'];
  const text = typeof body === 'string' ? body : '';
  return {
    statusCode,
    headers: merged,
    body: isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8'),
  };
}
