import { MANAGEMENT_ROUTES } from '../lambdas/contract/routes.js';
import { BASE_PATH_STAGE_VARIABLE } from '../lambdas/core/gateway-scope.js';
import {
  DEMO_API_BASE_PATH,
  DEMO_API_ROUTES,
  JWT_AUTHORIZER_CACHE_TTL_SECONDS,
  JWT_AUTHORIZER_IDENTITY_SOURCES,
  TOKEN_AUTHORIZER_REST_IDENTITY_SOURCES,
} from '../lib/gateway-settings.js';
import {
  API_GATEWAY_EMULATOR_PATH,
  type ApiGatewayEmulator,
  apiGatewayEmulatorHandler,
} from './api-gateway-emulator.js';
import type { DevIdentityProvider } from './dev-identity.js';
import { handleJwksRequest, handleSessionRequest, JWKS_PATH, SESSION_PATH } from './dev-identity-routes.js';
import { type ApiStage, headerOf, type IncomingRequest } from './events.js';
import type { LocalFunctions } from './functions.js';
import type { RouteTarget } from './gateway.js';
import { LambdaAuthorizer } from './lambda-authorizer.js';
import type { GatewayRoute } from './routing.js';

// What the local gateway serves, mirroring the deployed stack:
//   - the management API, one method per route-table entry; `jwt` routes behind the JWT
//     authorizer (its identity sources and cache TTL as lib/management-api.ts deploys them); `iam`
//     routes (POST /verify) without SigV4, for loopback callers only (local/gateway.ts);
//   - the demo API (when `demoApi` is on): `ANY <base path>/<route>` for each demo route, behind the
//     token authorizer (identity sources and cache TTL as lib/constructs/demo-api.ts deploys them),
//     stage variable accessTokensBasePath;
//   - the dev identity provider's /_local routes (local only);
//   - the emulated API Gateway management API for usage plans under /_aws/apigateway (local only),
//     and the demo API's usage plans enforced after its authorizer (local/api-gateway-emulator.ts).
// Base path, routes, identity sources and the JWT cache TTL come from lib/gateway-settings.ts, which
// the CDK code reads too.

const MANAGEMENT_API: ApiStage = { apiId: 'local', stage: 'local', stageVariables: null };
export const DEMO_API: ApiStage = {
  apiId: 'demo',
  stage: 'local',
  stageVariables: { [BASE_PATH_STAGE_VARIABLE]: DEMO_API_BASE_PATH },
};

interface GatewayRouteOptions {
  readonly functions: LocalFunctions;
  readonly identity: DevIdentityProvider;
  /** The token authorizer's cache TTL at the demo API. */
  readonly revocationWindowSeconds: number;
  readonly demoApi: boolean;
  /**
   * The emulated usage plans (local/usage-plans.ts): enforced on the demo API (apiKeyRequired, key
   * from the authorizer, as deployed) and their management API served under
   * API_GATEWAY_EMULATOR_PATH. Undefined: neither.
   */
  readonly apiGateway?: ApiGatewayEmulator;
  readonly log: (line: string) => void;
}

const HEADER_SOURCE = 'method.request.header.';
const SOURCE_IP = 'context.identity.sourceIp';
const HTTP_METHOD = 'context.httpMethod';
/** `context.path`: the request path with the stage, as the REST event's `requestContext.path`. */
const PATH = 'context.path';

/**
 * What API Gateway reads for a REQUEST authorizer's identity sources (as CDK deploys them): the
 * values in order, or undefined when one is missing or empty (API Gateway then answers 401 without
 * calling the authorizer). Only the sources this service deploys are supported; any other throws
 * when the routes are built.
 */
export function identitySourcesReader(
  sources: readonly string[],
  stage = 'local',
): (request: IncomingRequest) => string[] | undefined {
  const readers = sources.map((source): ((request: IncomingRequest) => string | undefined) => {
    if (source.startsWith(HEADER_SOURCE)) {
      const name = source.slice(HEADER_SOURCE.length);
      return (request) => headerOf(request, name);
    }
    if (source === SOURCE_IP) return (request) => request.sourceIp;
    if (source === HTTP_METHOD) return (request) => request.method;
    if (source === PATH) return (request) => `/${stage}${request.path}`;
    throw new Error(`identity source ${source}: the local gateway does not support it`);
  });
  return (request) => {
    const values: string[] = [];
    for (const read of readers) {
      const value = read(request);
      if (value === undefined || value.trim() === '') return undefined;
      values.push(value);
    }
    return values;
  };
}

export function gatewayRoutes(options: GatewayRouteOptions): GatewayRoute<RouteTarget>[] {
  const { functions, identity, log } = options;
  const jwtAuthorizer = new LambdaAuthorizer({
    fn: functions.jwtAuthorizer,
    cacheTtlSeconds: JWT_AUTHORIZER_CACHE_TTL_SECONDS,
    identitySources: identitySourcesReader(JWT_AUTHORIZER_IDENTITY_SOURCES),
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
        ...(route.auth === 'iam' ? { iam: true } : {}),
      },
    };
  });

  if (options.demoApi) {
    const tokenAuthorizer = new LambdaAuthorizer({
      fn: functions.tokenAuthorizer,
      cacheTtlSeconds: options.revocationWindowSeconds,
      identitySources: identitySourcesReader(TOKEN_AUTHORIZER_REST_IDENTITY_SOURCES, DEMO_API.stage),
      log,
    });
    const { apiGateway } = options;
    const demo: RouteTarget = {
      kind: 'lambda',
      api: DEMO_API,
      fn: functions.demoApi,
      authorizer: tokenAuthorizer,
      ...(apiGateway === undefined
        ? {}
        : { usagePlans: { admit: (stage, keyValue) => apiGateway.admit(stage, keyValue) } }),
    };
    for (const route of DEMO_API_ROUTES) {
      routes.push({ method: 'ANY', path: `${DEMO_API_BASE_PATH}/${route}`, target: demo });
    }
  }

  routes.push(
    {
      method: 'POST',
      path: SESSION_PATH,
      target: { kind: 'local', handle: (request) => handleSessionRequest(identity, request.body) },
    },
    { method: 'GET', path: JWKS_PATH, target: { kind: 'local', handle: () => handleJwksRequest(identity) } },
  );
  if (options.apiGateway !== undefined) {
    // Local only, never limited: the usage plans' management API for the functions' SDK clients.
    const handle = apiGatewayEmulatorHandler(options.apiGateway);
    routes.push({
      method: 'ANY',
      path: `${API_GATEWAY_EMULATOR_PATH}/{proxy+}`,
      target: { kind: 'local', handle },
    });
  }
  return routes;
}
