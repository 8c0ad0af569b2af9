// `Authorization: Bearer <credentials>` (RFC 6750 §2.1; the scheme is case-insensitive, RFC 9110
// §11.1). Written by hand: it runs on every request of every protected API.

/** Longer values are refused before any parsing: no token or JWT we accept comes near it. */
const MAX_AUTHORIZATION_LENGTH = 16 * 1024;

const isSpace = (code: number) => code === 0x20 || code === 0x09;

/**
 * The credentials of a `Bearer` Authorization header value, or undefined when the value is absent,
 * uses another scheme, carries no credentials or more than one word after the scheme.
 */
export function bearerCredentials(value: string | undefined): string | undefined {
  if (value === undefined || value.length > MAX_AUTHORIZATION_LENGTH) return undefined;
  // The last value and its answer: a busy client sends the same header again and again, and the
  // comparison (a pointer, or at most the header's characters) costs less than the parse on a
  // cache-hit verification (docs/performance.md). Kept in the process's memory, like the event.
  if (value === lastParsed.value) return lastParsed.credentials;
  const credentials = parseBearer(value);
  lastParsed.value = value;
  lastParsed.credentials = credentials;
  return credentials;
}

const lastParsed: { value: string | undefined; credentials: string | undefined } = {
  value: undefined,
  credentials: undefined,
};

function parseBearer(value: string): string | undefined {
  let start = 0;
  let end = value.length;
  while (start < end && isSpace(value.charCodeAt(start))) start++;
  while (end > start && isSpace(value.charCodeAt(end - 1))) end--;
  if (end - start < 8) return undefined;
  if (value.slice(start, start + 6).toLowerCase() !== 'bearer') return undefined;
  let credentialsStart = start + 6;
  if (!isSpace(value.charCodeAt(credentialsStart))) return undefined;
  while (credentialsStart < end && isSpace(value.charCodeAt(credentialsStart))) credentialsStart++;
  const credentials = value.slice(credentialsStart, end);
  for (let index = 0; index < credentials.length; index++) {
    if (isSpace(credentials.charCodeAt(index))) return undefined;
  }
  return credentials === '' ? undefined : credentials;
}

/**
 * A header's value by case-insensitive name. When the map holds the name in more than one spelling
 * with different values, the request is ambiguous and this answers undefined (never a guess).
 */
export function headerValue(
  headers: Readonly<Record<string, string | null | undefined>> | null | undefined,
  name: string,
): string | undefined {
  if (headers === null || headers === undefined) return undefined;
  const wanted = name.toLowerCase();
  let found: string | undefined;
  for (const key of Object.keys(headers)) {
    if (key.length !== wanted.length || key.toLowerCase() !== wanted) continue;
    const value = headers[key];
    if (typeof value !== 'string') continue;
    if (found !== undefined && value !== found) return undefined;
    found = value;
  }
  return found;
}
