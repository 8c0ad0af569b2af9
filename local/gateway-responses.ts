// What API Gateway answers by itself (no integration ran), in the bodies this project's stack
// configures for its REST APIs (lib/rest-api.ts `addJsonGatewayResponses`), so that a client sees
// the same status and body locally as deployed.

export interface GatewayResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const json = (statusCode: number, code: string, message: string): GatewayResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ error: { code, message } }),
});

export const GATEWAY_RESPONSES = {
  /** UNAUTHORIZED: the authorizer threw `Unauthorized`, or the identity source is missing. */
  unauthorized: json(401, 'UNAUTHORIZED', 'Missing or invalid credentials'),
  /** ACCESS_DENIED: the authorizer's policy does not allow the method ARN. */
  accessDenied: json(403, 'FORBIDDEN', 'Not allowed'),
  /** MISSING_AUTHENTICATION_TOKEN: no such resource or no such method on it. */
  noSuchRoute: json(404, 'NOT_FOUND', 'No such route'),
  /** REQUEST_TOO_LARGE: over the 10 MB payload limit of REST APIs. */
  requestTooLarge: json(413, 'PAYLOAD_TOO_LARGE', 'Request too large'),
  /** AUTHORIZER_FAILURE / AUTHORIZER_CONFIGURATION_ERROR (DEFAULT_5XX). */
  authorizerFailure: json(500, 'INTERNAL', 'Internal server error'),
  /** Anything else that went wrong in the gateway itself (DEFAULT_5XX). */
  internal: json(500, 'INTERNAL', 'Internal server error'),
  /** A malformed Lambda proxy response (DEFAULT_5XX, status 502). */
  badGateway: json(502, 'INTERNAL', 'Internal server error'),
  /** INTEGRATION_TIMEOUT (DEFAULT_5XX, status 504). */
  integrationTimeout: json(504, 'INTERNAL', 'Internal server error'),
} as const satisfies Record<string, GatewayResponse>;
