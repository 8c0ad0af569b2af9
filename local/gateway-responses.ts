// What API Gateway answers by itself (no integration ran), in the bodies this project's stack
// configures for its REST APIs: both build from lib/gateway-errors.ts, so a client sees the same
// status and body locally as deployed.

import { GATEWAY_ERRORS, type GatewayError, gatewayErrorBody } from '../lib/gateway-errors.js';

export interface GatewayResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const json = (error: GatewayError, statusCode: number = error.statusCode): GatewayResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: gatewayErrorBody(error),
});

export const GATEWAY_RESPONSES = {
  /** UNAUTHORIZED: the authorizer threw `Unauthorized`, or the identity source is missing. */
  unauthorized: json(GATEWAY_ERRORS.unauthorized),
  /** ACCESS_DENIED: the authorizer's policy does not allow the method ARN. */
  accessDenied: json(GATEWAY_ERRORS.accessDenied),
  /** MISSING_AUTHENTICATION_TOKEN: no such resource or no such method on it. */
  noSuchRoute: json(GATEWAY_ERRORS.noSuchRoute),
  /** REQUEST_TOO_LARGE: over the 10 MB payload limit of REST APIs. */
  requestTooLarge: json(GATEWAY_ERRORS.requestTooLarge),
  /** AUTHORIZER_FAILURE / AUTHORIZER_CONFIGURATION_ERROR (DEFAULT_5XX). */
  authorizerFailure: json(GATEWAY_ERRORS.internal),
  /** Anything else that went wrong in the gateway itself (DEFAULT_5XX). */
  internal: json(GATEWAY_ERRORS.internal),
  /** A malformed Lambda proxy response (DEFAULT_5XX, status 502). */
  badGateway: json(GATEWAY_ERRORS.internal, 502),
  /** INTEGRATION_TIMEOUT (DEFAULT_5XX, status 504). */
  integrationTimeout: json(GATEWAY_ERRORS.internal, 504),
  /** THROTTLED: the usage plan's token bucket is empty (with retryAfter). */
  throttled: json(GATEWAY_ERRORS.throttled),
  /** QUOTA_EXCEEDED: the usage plan's quota for the period is used up (with retryAfter). */
  quotaExceeded: json(GATEWAY_ERRORS.quotaExceeded),
  /** INVALID_API_KEY: the token's usage key is not (or no longer) in a plan of this stage (with retryAfter). */
  usageKeyPending: json(GATEWAY_ERRORS.usageKeyPending),
} as const satisfies Record<string, GatewayResponse>;

/** A gateway response with a `Retry-After` of `seconds` (whole seconds, at least 1). */
export function retryAfter(response: GatewayResponse, seconds: number): GatewayResponse {
  return {
    ...response,
    headers: { ...response.headers, 'retry-after': String(Math.max(1, Math.ceil(seconds))) },
  };
}
