import type { ErrorCode } from '../lambdas/core/errors.js';

// What API Gateway answers by itself (authorizer refusals, throttling, unknown routes, its own
// failures), in the contract's error shape. The deployed REST APIs (lib/constructs/rest-api.ts) and the local
// gateway emulation (local/gateway-responses.ts) both build from this one table, so a client sees
// the same status and body locally as deployed. No aws-cdk-lib import: the local stack loads it.

export interface GatewayError {
  readonly statusCode: number;
  readonly code: ErrorCode;
  readonly message: string;
  /** The fixed `Retry-After` API Gateway sends with it (a gateway response's headers are constants). */
  readonly retryAfterSeconds?: number;
}

export const GATEWAY_ERRORS = {
  unauthorized: { statusCode: 401, code: 'UNAUTHORIZED', message: 'Missing or invalid credentials' },
  accessDenied: { statusCode: 403, code: 'FORBIDDEN', message: 'Not allowed' },
  /** INVALID_SIGNATURE / EXPIRED_TOKEN: a SigV4-signed call of an IAM route (POST /verify) that does not verify. */
  signatureRejected: {
    statusCode: 403,
    code: 'FORBIDDEN',
    message: 'The request signature is invalid or expired',
  },
  noSuchRoute: { statusCode: 404, code: 'NOT_FOUND', message: 'No such route' },
  requestTooLarge: { statusCode: 413, code: 'PAYLOAD_TOO_LARGE', message: 'Request too large' },
  throttled: { statusCode: 429, code: 'RATE_LIMITED', message: 'Too many requests', retryAfterSeconds: 1 },
  /** QUOTA_EXCEEDED: the token's usage plan quota for the period is used up (docs/rate-limits.md). */
  quotaExceeded: {
    statusCode: 429,
    code: 'QUOTA_EXCEEDED',
    message: "This token's quota for the period is used up",
  },
  /**
   * INVALID_API_KEY on an API that takes the usage key from the authorizer: the token's key does not
   * exist yet (the stream consumer creates it seconds after the token) or any more (revoked): 503 with
   * Retry-After, since retrying soon gets the right answer (200, or 401 once revoked).
   */
  usageKeyPending: {
    statusCode: 503,
    code: 'TOKEN_NOT_READY',
    retryAfterSeconds: 2,
    message:
      'This token has no usage key at the gateway: just created (retry in a few seconds) or just revoked',
  },
  internal: { statusCode: 500, code: 'INTERNAL', message: 'Internal server error' },
} as const satisfies Record<string, GatewayError>;

export function gatewayErrorBody(error: GatewayError): string {
  return JSON.stringify({ error: { code: error.code, message: error.message } });
}
