import type { APIGatewayProxyEvent } from 'aws-lambda';
import { MAX_BODY_BYTES } from '../contract/api-schemas.js';
import { callerContextSchema } from '../contract/caller-context.js';
import { capText, MAX_SOURCE_IP_LENGTH, MAX_USER_AGENT_LENGTH } from '../core/audit.js';
import {
  PayloadTooLargeError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../core/errors.js';
import type { Caller } from '../core/model.js';

// Reading a REST API proxy event. Nothing here trusts the event's shape beyond what API Gateway
// guarantees; anything unexpected is a 4xx, never a crash.

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The caller the JWT authorizer put in `requestContext.authorizer`, or 401. */
export function callerOf(event: APIGatewayProxyEvent): Caller {
  const parsed = callerContextSchema.safeParse(event.requestContext?.authorizer);
  if (!parsed.success) throw new UnauthorizedError('Authentication required');
  const identity = event.requestContext?.identity;
  return {
    userId: parsed.data.userId,
    accountId: parsed.data.accountId,
    role: parsed.data.role,
    email: parsed.data.email === '' ? undefined : parsed.data.email,
    // Capped here, where they enter: every record of the change stores them (core/audit.ts).
    sourceIp: nonEmpty(identity?.sourceIp, MAX_SOURCE_IP_LENGTH),
    userAgent: nonEmpty(identity?.userAgent, MAX_USER_AGENT_LENGTH),
  };
}

/**
 * The AWS principal that signed the request (SigV4) on an `iam` route: the ARN API Gateway puts in
 * `requestContext.identity.userArn` after checking the signature and the principal's
 * `execute-api:Invoke`. Absent, the request did not come through an IAM-authorized method: 401.
 */
export function iamPrincipalOf(event: APIGatewayProxyEvent): string {
  const userArn = event.requestContext?.identity?.userArn;
  if (typeof userArn !== 'string' || userArn === '') throw new UnauthorizedError('Authentication required');
  return userArn;
}

const nonEmpty = (value: string | null | undefined, max: number) =>
  typeof value === 'string' && value !== '' ? capText(value, max) : undefined;

function tooLarge(): PayloadTooLargeError {
  return new PayloadTooLargeError(`The request body is larger than ${MAX_BODY_BYTES} bytes`);
}

const notUtf8 = () => new ValidationError('The request body is not UTF-8 text');
const REPLACEMENT_CHARACTER = '\uFFFD';

/**
 * The raw body as text, checked against the size limit and decoded as strict UTF-8; undefined when
 * there is none. A base64 body (binary media types) is decoded from its bytes with a fatal decoder.
 * A text body has been decoded by API Gateway already, which turns invalid UTF-8 into U+FFFD: the
 * replacement character in it is the trace of bytes that were not UTF-8, so it is refused the same
 * way (a client that means U+FFFD can send it escaped; string fields refuse it too, api-schemas.ts).
 */
function rawBodyOf(event: APIGatewayProxyEvent): string | undefined {
  const raw = event.body;
  if (typeof raw !== 'string' || raw === '') return undefined;
  if (event.isBase64Encoded === true) {
    // base64 needs 4 characters per 3 bytes: anything longer than this cannot fit, decode nothing.
    if (raw.length > Math.ceil(MAX_BODY_BYTES / 3) * 4 + 4) throw tooLarge();
    const bytes = Buffer.from(raw, 'base64');
    if (bytes.length > MAX_BODY_BYTES) throw tooLarge();
    try {
      return utf8.decode(bytes);
    } catch {
      throw notUtf8();
    }
  }
  // A UTF-8 encoding is never shorter than the string's UTF-16 length, so test that first.
  if (raw.length > MAX_BODY_BYTES || Buffer.byteLength(raw, 'utf8') > MAX_BODY_BYTES) throw tooLarge();
  if (raw.includes(REPLACEMENT_CHARACTER)) throw notUtf8();
  return raw;
}

/**
 * Refuses a body that does not say it is JSON: 415. `application/json`, any case, optionally with
 * `charset=utf-8` (RFC 8259 §11 defines no charset, but clients send it); another charset, another
 * type, no Content-Type or several different ones are refused. Parsed by hand: the grammar needed
 * is one media type and its parameters (RFC 9110 §8.3.1), and node:util's MIMEType is still
 * experimental on Node 20.
 */
export function assertJsonContentType(event: APIGatewayProxyEvent): void {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (name.toLowerCase() === 'content-type' && typeof value === 'string') values.add(value);
  }
  for (const [name, list] of Object.entries(event.multiValueHeaders ?? {})) {
    if (name.toLowerCase() !== 'content-type' || !Array.isArray(list)) continue;
    for (const value of list) if (typeof value === 'string') values.add(value);
  }
  const [value, ...others] = values;
  if (value === undefined || others.length > 0 || !isJsonMediaType(value)) {
    throw new UnsupportedMediaTypeError(
      'The request body must be JSON: send it with Content-Type: application/json',
    );
  }
}

function isJsonMediaType(value: string): boolean {
  const [essence = '', ...parameters] = value.split(';');
  if (essence.trim().toLowerCase() !== 'application/json') return false;
  return parameters.every((parameter) => {
    const equals = parameter.indexOf('=');
    if (equals === -1) return parameter.trim() === '';
    const name = parameter.slice(0, equals).trim().toLowerCase();
    const raw = parameter.slice(equals + 1).trim();
    const unquoted = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
    return name !== 'charset' || unquoted.toLowerCase() === 'utf-8';
  });
}

/** The body as a JSON object; undefined when there is no body. */
export function jsonBodyOf(event: APIGatewayProxyEvent): Record<string, unknown> | undefined {
  const text = rawBodyOf(event);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ValidationError('The request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ValidationError('The request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/** Query parameters; a parameter given more than once is ambiguous and refused. */
export function queryOf(event: APIGatewayProxyEvent): Record<string, string> {
  const repeated = Object.entries(event.multiValueQueryStringParameters ?? {})
    .filter(([, values]) => Array.isArray(values) && values.length > 1)
    .map(([name]) => ({ path: name, message: 'given more than once' }));
  if (repeated.length > 0) throw new ValidationError('Invalid query string', repeated);
  return stringEntries(event.queryStringParameters);
}

export function pathParametersOf(event: APIGatewayProxyEvent): Record<string, string> {
  return stringEntries(event.pathParameters);
}

// Object.fromEntries defines own properties, so a parameter named `__proto__` stays a plain
// (unknown, hence refused) field instead of touching the object's prototype.
function stringEntries(
  source: Record<string, string | undefined> | null | undefined,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(source ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}
