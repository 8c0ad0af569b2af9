// What the deployed stack (lib/) and the local stack (local/, bin/local.ts) both need to know about
// their API Gateway APIs, in one place, so that the local gateway cannot drift from the deployed
// one. Plain data and functions: no CDK import, so local/ reads it without loading aws-cdk-lib, and
// no Lambda bundle imports it (lib/ is never bundled into a function).

/** The demo API's base path: its routes are `ANY <base path>/<route>` for each of {@link DEMO_API_ROUTES}. */
export const DEMO_API_BASE_PATH = '/demo';
/** The demo API's routes under its base path, each `ANY`, each behind the token authorizer. */
export const DEMO_API_ROUTES = ['{area}', '{area}/{proxy+}'] as const;

/** How long API Gateway caches the management API's JWT authorizer decisions (seconds). */
export const JWT_AUTHORIZER_CACHE_TTL_SECONDS = 60;

/**
 * The identity sources of the management API's JWT authorizer: the Authorization header alone, so
 * its policy covers every method of the API (the handlers check roles per route). API Gateway's
 * syntax (`method.request.header.<name>`, `context.<variable>`); the local gateway reads the same.
 */
export const JWT_AUTHORIZER_IDENTITY_SOURCES: readonly string[] = ['method.request.header.Authorization'];

/**
 * REST API identity sources of the token authorizer: the token, the caller's address (IP
 * allowlists), and the method and request path, so that an Allow listing too large for API Gateway
 * can be narrowed to the request (docs/security.md "Policy size").
 */
export const TOKEN_AUTHORIZER_REST_IDENTITY_SOURCES: readonly string[] = [
  'method.request.header.Authorization',
  'context.identity.sourceIp',
  'context.httpMethod',
  'context.path',
];

/** The JWKS URL of an OIDC issuer that names none: `<issuer>/.well-known/jwks.json`. */
export function defaultJwksUrlOf(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`;
}
