// The public CDK surface of Access Tokens: the stack itself, what another app needs to protect its
// own APIs with the deployed token authorizer, and the verify API's client for services outside API
// Gateway (docs/verify.md). Everything else in lib/ is internal and may change.

export { BASE_PATH_STAGE_VARIABLE } from '../lambdas/core/gateway-scope.js';
export {
  encodeRouteScopes,
  InvalidRouteScopesError,
  parseRouteScopeMap,
  ROUTE_SCOPES_STAGE_VARIABLE,
  type RouteScopeMap,
} from '../lambdas/core/route-scopes.js';
export { AccessTokensStack, type AccessTokensStackProps } from './access-tokens-stack.js';
export { CONTEXT_KEYS, type DeploymentConfig, loadDeploymentConfig } from './config.js';
export {
  declareTokenAuthorizerSettings,
  gatewayCacheTtlOf,
  HTTP_IDENTITY_SOURCES,
  REST_IDENTITY_SOURCES,
  REST_ROUTE_MAP_IDENTITY_SOURCES,
  TokenAuthorizer,
  type TokenAuthorizerMethodOptions,
  type TokenAuthorizerProps,
  type TokenAuthorizerRevocationSettings,
  TokenHttpRouteAuthorizer,
} from './token-authorizer.js';
export {
  regionOfHost,
  VerifyClient,
  type VerifyClientOptions,
  VerifyError,
  type VerifyInput,
  type VerifyResult,
} from './verify-client.js';
