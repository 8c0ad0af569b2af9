import type { APIGatewayProxyResult } from 'aws-lambda';
import { type ErrorResponse, STATUS_BY_CODE } from '../contract/api-schemas.js';
import type { DomainError, ErrorDetail } from '../core/errors.js';

// Every response of the management API is built here: JSON with no-store caching and the security
// headers an API response should carry (OWASP REST Security Cheat Sheet).

const RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

const MAX_DETAILS = 50;
const MAX_DETAIL_TEXT = 300;

export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { ...RESPONSE_HEADERS, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

export function emptyResponse(
  statusCode: number,
  headers: Readonly<Record<string, string>> = {},
): APIGatewayProxyResult {
  return { statusCode, headers: { ...RESPONSE_HEADERS, ...headers }, body: '' };
}

const clip = (text: string) => (text.length > MAX_DETAIL_TEXT ? `${text.slice(0, MAX_DETAIL_TEXT)}…` : text);

export function domainErrorResponse(error: DomainError): APIGatewayProxyResult {
  const details: ErrorDetail[] | undefined = error.details
    ?.slice(0, MAX_DETAILS)
    .map((detail) => ({ path: clip(detail.path), message: clip(detail.message) }));
  const body: ErrorResponse = {
    error: {
      code: error.code,
      message: error.message,
      ...(details === undefined || details.length === 0 ? {} : { details }),
    },
  };
  return jsonResponse(STATUS_BY_CODE[error.code], body);
}

/** The one 500 body: it says nothing about the cause, which is logged server-side only. */
export function internalErrorResponse(): APIGatewayProxyResult {
  const body: ErrorResponse = { error: { code: 'INTERNAL', message: 'Internal error' } };
  return jsonResponse(STATUS_BY_CODE.INTERNAL, body);
}
