import { BASE_PATH_STAGE_VARIABLE } from '../lambdas/core/gateway-scope.js';
import { MANAGEMENT_ROUTES } from '../lambdas/routes.js';
import type { DevIdentityProvider } from './dev-identity.js';
import { handleJwksRequest, handleSessionRequest, JWKS_PATH, SESSION_PATH } from './dev-identity-routes.js';
import { type ApiStage, headerOf, type IncomingRequest } from './events.js';
import type { LocalFunctions } from './functions.js';
import type { RouteTarget } from './gateway.js';
import { LambdaAuthorizer } from './lambda-authorizer.js';
import type { GatewayRoute } from './routing.js';

// What the local gateway serves, mirroring the deployed stack:
//   - the management API, one method per route-table entry; `jwt` routes behind the JWT
//     authorizer (identity source: the Authorization header; cache 60 s, as lib/management-api.ts);
//   - the demo API (when `demoApi` is on): `ANY /demo/{area}` and `ANY /demo/{area}/{proxy+}` behind
//     the token authorizer (identity sources: the Authorization header and the source address;
//     cache TTL = the revocation window, as lib/constructs/demo-api.ts), stage variable accessTokensBasePath;
//   - the dev identity provider's /_local routes (local only).

export const MANAGEMENT_API: ApiStage = { apiId: 'local', stage: 'local', stageVariables: null };
export const DEMO_BASE_PATH = '/demo';
export const DEMO_API: ApiStage = {
  apiId: 'demo',
  stage: 'local',
  stageVariables: { [BASE_PATH_STAGE_VARIABLE]: DEMO_BASE_PATH },
};
export const JWT_AUTHORIZER_CACHE_TTL_SECONDS = 60;

export interface GatewayRouteOptions {
  readonly functions: LocalFunctions;
  readonly identity: DevIdentityProvider;
  /** The token authorizer's cache TTL at the demo API. */
  readonly revocationWindowSeconds: number;
  readonly demoApi: boolean;
  readonly log: (line: string) => void;
}

function authorizationHeader(request: IncomingRequest): string | undefined {
  const value = headerOf(request, 'authorization');
  return value === undefined || value.trim() === '' ? undefined : value;
}

export function gatewayRoutes(options: GatewayRouteOptions): GatewayRoute<RouteTarget>[] {
  const { functions, identity, log } = options;
  const jwtAuthorizer = new LambdaAuthorizer({
    fn: functions.jwtAuthorizer,
    cacheTtlSeconds: JWT_AUTHORIZER_CACHE_TTL_SECONDS,
    identitySources: (request) => {
      const authorization = authorizationHeader(request);
      return authorization === undefined ? undefined : [authorization];
    },
    log,
  });
  const routes: GatewayRoute<RouteTarget>[] = MANAGEMENT_ROUTES.map((route) => {
    const fn = functions.routes.get(route.name);
    if (fn === undefined) throw new Error(`no function loaded for route ${route.name}`);
    return {
      method: route.method,
      path: route.path,
      target: {
        kind: 'lambda',
        api: MANAGEMENT_API,
        fn,
        authorizer: route.auth === 'jwt' ? jwtAuthorizer : undefined,
      },
    };
  });

  if (options.demoApi) {
    const tokenAuthorizer = new LambdaAuthorizer({
      fn: functions.tokenAuthorizer,
      cacheTtlSeconds: options.revocationWindowSeconds,
      identitySources: (request) => {
        const authorization = authorizationHeader(request);
        return authorization === undefined ? undefined : [authorization, request.sourceIp];
      },
      log,
    });
    const demo: RouteTarget = {
      kind: 'lambda',
      api: DEMO_API,
      fn: functions.demoApi,
      authorizer: tokenAuthorizer,
    };
    routes.push(
      { method: 'ANY', path: `${DEMO_BASE_PATH}/{area}`, target: demo },
      { method: 'ANY', path: `${DEMO_BASE_PATH}/{area}/{proxy+}`, target: demo },
    );
  }

  routes.push(
    {
      method: 'POST',
      path: SESSION_PATH,
      target: { kind: 'local', handle: (request) => handleSessionRequest(identity, request.body) },
    },
    { method: 'GET', path: JWKS_PATH, target: { kind: 'local', handle: () => handleJwksRequest(identity) } },
  );
  return routes;
}
