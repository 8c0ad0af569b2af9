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
} as const satisfies Record<string, GatewayResponse>;
