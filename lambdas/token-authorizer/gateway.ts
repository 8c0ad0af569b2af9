import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import {
  type Decision,
  isUnauthenticated,
  type TokenAuthorizerContext,
  tokenAuthorizerContext,
} from '../core/authorization.js';
import { headerValue } from '../core/bearer.js';
import {
  allowedResources,
  allowPolicy,
  denyAllPolicy,
  denyPolicy,
  MAX_POLICY_BYTES,
  type MethodArn,
  policyBytes,
  requestPolicy,
  routeResource,
} from '../core/gateway-policy.js';
import {
  BASE_PATH_STAGE_VARIABLE,
  normalizeBasePath,
  type PathIssue,
  pathIssueOfAny,
  type RouteContext,
} from '../core/gateway-scope.js';
import type { CredentialRecord } from '../core/model.js';
import { usageKeyValue } from '../core/rate-limits.js';
import { readRestAuthorizerEvent, restAuthorizationOf, unauthorized } from '../core/rest-authorizer.js';
import {
  lookupRouteScope,
  ROUTE_SCOPES_STAGE_VARIABLE,
  RouteScopeDecoder,
  type RouteScopeMap,
  routeOfTemplate,
} from '../core/route-scopes.js';

// The token authorizer's two gateway dialects: reading the event, and answering so that the gateway
// produces the status the contract asks for. What each outcome becomes:
//
// | outcome                      | REST API (REQUEST or TOKEN authorizer) | HTTP API (payload 2.0, simple responses) |
// |------------------------------|----------------------------------------|------------------------------------------|
// | VALID                        | Allow policy → the integration runs    | isAuthorized true → the integration runs |
// | MALFORMED, NOT_FOUND,        | throw Error('Unauthorized') → 401      | isAuthorized false → 403                 |
// |   EXPIRED, REVOKED, DISABLED |                                        |                                          |
// | INSUFFICIENT_SCOPE           | the same Allow policy, which does not  | isAuthorized false → 403                 |
// |                              |   list this method ARN → 403 (implicit |                                          |
// |                              |   deny); on a mapped route an explicit |                                          |
// |                              |   Deny of that route → 403             |                                          |
// | IP_NOT_ALLOWED               | explicit Deny of the stage → 403       | isAuthorized false → 403                 |
// | NON_CANONICAL_PATH (a valid  | the same policy plus an explicit Deny  | isAuthorized false → 403                 |
// |   token, a refused path)     |   of exactly this method ARN → 403     |                                          |
// | DEPENDENCY_FAILURE,          | any other error → 500, not cached      | any error → 500                          |
// |   INVALID_ROUTE_SCOPES,      |                                        |                                          |
// |   UNKEYED_ROUTE_MAP          |                                        |                                          |
// | no Authorization header      | 401 from the gateway, Lambda not called (identity source missing) | same     |
//
// Sources: REST: the API Gateway developer guide, "Use API Gateway Lambda authorizers" (its Node.js
// example: callback("Unauthorized") → 401, an Allow/Deny policy → 200/403, any other error → 500) and
// "Output from an Amazon API Gateway Lambda authorizer"; the AWS knowledge-center articles
// api-gateway-401-error-lambda-authorizer (401 without invoking the function when an identity source
// is missing) and api-gateway-403-error-lambda-authorizer (explicit vs implicit deny messages).
// Only the exact message `Unauthorized` maps to 401; any other error message is an
// AuthorizerConfigurationException 500. HTTP API: the developer guide, "Working with AWS Lambda
// authorizers for HTTP APIs": a simple response only allows or denies (deny = 403 Forbidden), a
// missing identity source answers 401 without invoking the function, and an error or an invalid
// response answers 500. So an HTTP API cannot tell "bad token" (401) from "not allowed" (403): both
// are 403 there; only the REST API gives the contract's 401.
//
// Caching. REST: the whole output (policy and context) is cached per identity-source values and
// evaluated against each later request's method ARN, so the Allow policy lists every ARN the scopes
// allow (gateway-policy.ts) and is right for every route; the IP_NOT_ALLOWED Deny is right because
// the deployed identity sources include `context.identity.sourceIp`, and they must whenever any
// token can carry an allowlist. An error (500) leaves nothing in the cache. HTTP API: a cached simple
// response "fully allows or denies all API requests that match the cached identity source values",
// so its identity sources must include `$context.httpMethod` and `$context.path` (and
// `$context.identity.sourceIp` for allowlists) besides the Authorization header, or its cache TTL must
// be 0; otherwise one route's answer would be replayed on another.
//
// Route→scope maps (route-scopes.ts). The map is the stage variable `accessTokensRoutes` (base64url
// JSON), else the authorizer's default from its env. The route looked up is the one API Gateway
// matched: REST `resource` (the template, e.g. `/v1/reports/{id}`), HTTP API `routeKey`'s path
// (`GET /v1/reports/{id}`; `$default` names no route). With a map, REST policies depend on the
// template, so the REST identity sources must then include `context.httpMethod` and
// `context.resourcePath` (gateway-policy.ts explains why a listing cannot work): an Allow for
// exactly this method and route when the token holds the mapped scope, else an explicit Deny of
// it; an unmapped template keeps the area listing. A map that does not decode is a deployment
// error: every request fails closed with a 500 (not cached), logged as INVALID_ROUTE_SCOPES.
//
// The map is a stage variable, which any authorizer of the stage sees, and anyone can set by hand;
// the identity sources are per authorizer. So a route policy is only given when the event shows
// that this authorizer's cache key names the method and the template (or the path): REST and HTTP
// payload 1.0 events carry the identity-source values as `identitySource` (comma-joined; the local
// gateway and AWS's samples send it). An event that does not show them, or shows a key without them, is a deployment
// error like a broken map: a 500 (not cached), logged as UNKEYED_ROUTE_MAP, for the mapped routes
// only (an unmapped route's area listing is right under any key). lib/token-authorizer.ts fails
// the synth for the same mistake; this is the check for what CDK cannot see. Its limit: the values
// are joined with commas, so an authorizer made by hand with a caller-controlled identity source
// (a header, a query string) could fake them; the construct's sources cannot (a valid token holds
// no comma).
//
// Policy size (docs/security.md "Policy size"). An area-rule listing above MAX_POLICY_BYTES is
// replaced by a policy about the request's method alone (requestPolicy) when the event shows the
// method and the request path among the identity-source values (the construct's REST sources
// include `context.httpMethod` and `context.path`): such a cache only replays an answer for the same
// method and path. Without them the listing is answered as is.
//
// Paths (gateway-scope.ts, pathIssueOf). A path with a dot segment, an encoded separator or dot, or
// a backslash is refused (403) whatever the token may do, logged as NON_CANONICAL_PATH: the
// authorizer does not trust every gateway to normalise paths the way the backend will. The token is
// still read, because the REST answer is cached: it is the token's usual policy (right for every
// other route) plus an explicit Deny of exactly this method ARN. A bad token is still a 401.
//
// Usage plans (docs/rate-limits.md). Every REST answer that allows anything carries
// `usageIdentifierKey: usageKeyValue(tokenId)`: the token's API key value, derived from its public id
// (no read, no HMAC), which an API with apiKeySource AUTHORIZER uses to apply the key's usage plan
// (throttle, quota). An answer that only denies (IP_NOT_ALLOWED, a mapped route's Deny, a refused
// path on a cache keyed by path) carries none: no request goes through it. A cached answer is
// replayed on other routes, so an Allow listing carries the key even when this request is denied by
// it (INSUFFICIENT_SCOPE). HTTP APIs have no usage plans: their answers carry no key.

type StringMap = Readonly<Record<string, string | null | undefined>>;

/** The fields the authorizer reads, from any of the three event shapes; nothing else is trusted. */
export interface TokenAuthorizerEvent {
  readonly version?: string;
  readonly type?: string;
  readonly methodArn?: string;
  readonly authorizationToken?: string;
  readonly headers?: StringMap | null;
  readonly stageVariables?: StringMap | null;
  readonly rawPath?: string;
  /** REST REQUEST: the request path. */
  readonly path?: string;
  /** The identity-source values: comma-joined (REST, HTTP payload 1.0) or a list (2.0). */
  readonly identitySource?: string | readonly unknown[] | null;
  /** REST REQUEST: the matched resource's template, base path included. */
  readonly resource?: string;
  /** HTTP API: `<METHOD> <template>` or `$default`. */
  readonly routeKey?: string;
  readonly requestContext?: {
    readonly stage?: string;
    /** REST: the request path with the stage. */
    readonly path?: string;
    readonly resourcePath?: string;
    readonly routeKey?: string;
    readonly identity?: { readonly sourceIp?: string | null } | null;
    readonly http?: { readonly method?: string; readonly path?: string; readonly sourceIp?: string };
  };
}

export type RestAuthorizerResult = APIGatewayAuthorizerResult;
/** The HTTP API simple response: context only when authorized. */
export type HttpAuthorizerResult =
  | { readonly isAuthorized: true; readonly context: TokenAuthorizerContext }
  | { readonly isAuthorized: false };
export type TokenAuthorizerResult = RestAuthorizerResult | HttpAuthorizerResult;

interface RequestBase {
  readonly authorization: string | undefined;
  readonly method: string;
  readonly path: string;
  readonly basePath: string;
  readonly sourceIp: string | undefined;
  readonly route: RouteContext;
  /** Set when the path is one the authorizer refuses to judge (pathIssueOf). */
  readonly pathIssue: PathIssue | undefined;
}

/** What applies when the stage says nothing: the authorizer's env. */
export interface AuthorizerDefaults {
  /** Normalized. */
  readonly basePath: string;
  /** The default route→scope map as JSON (ENV.authorizerRouteScopes), undefined = none. */
  readonly routeScopesJson: string | undefined;
}

export type AuthorizerRequest =
  | (RequestBase & {
      readonly gateway: 'rest';
      readonly methodArn: MethodArn;
      /** The event shows the method and the request path among the cache key's values. */
      readonly keyedByPath: boolean;
    })
  | (RequestBase & { readonly gateway: 'http' });

/** The event is none of the shapes API Gateway sends: a deployment error, answered with a 500. */
class UnrecognizedEventError extends Error {
  constructor(detail: string) {
    super(`Unrecognized authorizer event: ${detail}`);
    this.name = 'UnrecognizedEventError';
  }
}

/**
 * A route map applies to this request, but the event does not show that the authorizer's cache key
 * names the method and the route: a cached route policy could be served for another route.
 */
export class UnkeyedRouteMapError extends Error {
  constructor(detail: string) {
    super(`Route map without a route-keyed cache: ${detail}`);
    this.name = 'UnkeyedRouteMapError';
  }
}

const basePaths = new Map<string, string>();

function basePathOf(stageVariables: StringMap | null | undefined, fallback: string): string {
  const raw = stageVariables?.[BASE_PATH_STAGE_VARIABLE];
  if (typeof raw !== 'string') return fallback;
  let normalized = basePaths.get(raw);
  if (normalized === undefined) {
    if (basePaths.size >= 100) basePaths.clear();
    normalized = normalizeBasePath(raw);
    basePaths.set(raw, normalized);
  }
  return normalized;
}

const stringOrUndefined = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

const routeScopeDecoder = new RouteScopeDecoder();

/** The API's map: its stage variable, else the default. Throws InvalidRouteScopesError. */
function routeScopesOf(
  stageVariables: StringMap | null | undefined,
  defaults: AuthorizerDefaults,
): RouteScopeMap | undefined {
  const encoded = stageVariables?.[ROUTE_SCOPES_STAGE_VARIABLE];
  if (typeof encoded === 'string') return routeScopeDecoder.fromStageVariable(encoded);
  return defaults.routeScopesJson === undefined
    ? undefined
    : routeScopeDecoder.fromJson(defaults.routeScopesJson);
}

/** The identity-source values the event shows, or undefined when it shows none. */
function identitySourceValuesOf(event: TokenAuthorizerEvent): readonly string[] | undefined {
  const raw = event.identitySource;
  if (typeof raw === 'string') return raw === '' ? undefined : raw.split(',');
  if (Array.isArray(raw)) {
    const values = raw.filter((value): value is string => typeof value === 'string');
    return values.length === 0 ? undefined : values;
  }
  return undefined;
}

/** Whether `scopes` maps this request's route (then the cache key must name the route). */
function mapsRoute(method: string, route: RouteContext, basePath: string): boolean {
  const { template, scopes } = route;
  if (scopes === undefined || template === undefined) return false;
  const relative = routeOfTemplate(template, basePath);
  return relative !== undefined && lookupRouteScope(scopes, method, relative) !== undefined;
}

/**
 * For a request whose route the map maps (mapsRoute): throws UnkeyedRouteMapError when the event
 * does not show the method and the template (or the path itself) among its identity-source values.
 */
function assertRouteKeyedCache(
  event: TokenAuthorizerEvent,
  method: string,
  paths: readonly (string | undefined)[],
  template: string | undefined,
): void {
  const values = identitySourceValuesOf(event);
  if (values === undefined) throw new UnkeyedRouteMapError('the event shows no identity sources');
  const keyedByRoute = [template, ...paths].some((value) => value !== undefined && values.includes(value));
  if (!values.includes(method) || !keyedByRoute) {
    throw new UnkeyedRouteMapError('the method and the route are not among the identity sources');
  }
}

/**
 * Whether the identity-source values the event shows include the method and the request path
 * itself (not a template with parameters: one template spans many areas under the area rule).
 */
function isKeyedByPath(
  event: TokenAuthorizerEvent,
  method: string,
  paths: readonly (string | undefined)[],
): boolean {
  const values = identitySourceValuesOf(event);
  if (values === undefined || !values.includes(method)) return false;
  return paths.some((path) => path !== undefined && values.includes(path));
}

/**
 * What a REST event's request is read from besides its Authorization value, source address and
 * identity sources, and what follows from it alone: the method ARN, base path, route, refused-path
 * check and whether the route map needs a route-keyed cache. Remembered for the last event read
 * (one entry, compared field by field, the identity sources never kept: they hold the token): a
 * busy API sends the same route again and again, and reading it anew (the paths' checks, a route
 * object, arrays) was a visible share of a cache-hit verification (docs/performance.md).
 */
interface RestShape {
  readonly defaults: AuthorizerDefaults;
  readonly methodArnText: string;
  readonly type: string | undefined;
  readonly path: unknown;
  readonly contextPath: unknown;
  readonly resource: unknown;
  readonly contextResourcePath: unknown;
  readonly basePathVariable: unknown;
  readonly routesVariable: unknown;
  readonly methodArn: MethodArn;
  readonly isTokenEvent: boolean;
  readonly basePath: string;
  readonly paths: readonly (string | undefined)[];
  readonly route: RouteContext;
  readonly pathIssue: PathIssue | undefined;
  readonly mapped: boolean;
}

let lastRestShape: RestShape | undefined;

/** RestShape's counterpart for HTTP API (payload 2.0) events: the same reasons, the same rules. */
interface HttpShape {
  readonly defaults: AuthorizerDefaults;
  readonly methodField: unknown;
  readonly rawPathField: unknown;
  readonly httpPathField: unknown;
  readonly stageField: unknown;
  readonly routeKeyField: unknown;
  readonly contextRouteKeyField: unknown;
  readonly basePathVariable: unknown;
  readonly routesVariable: unknown;
  readonly method: string;
  readonly path: string;
  readonly basePath: string;
  readonly route: RouteContext;
  readonly pathIssue: PathIssue | undefined;
}

let lastHttpShape: HttpShape | undefined;

/** The shape of an HTTP API event (see HttpShape). Throws UnrecognizedEventError, InvalidRouteScopesError. */
function httpShapeOf(event: TokenAuthorizerEvent, defaults: AuthorizerDefaults): HttpShape {
  const last = lastHttpShape;
  const requestContext = event.requestContext;
  const http = requestContext?.http;
  const stageVariables = event.stageVariables;
  const basePathVariable = stageVariables?.[BASE_PATH_STAGE_VARIABLE];
  const routesVariable = stageVariables?.[ROUTE_SCOPES_STAGE_VARIABLE];
  if (
    last !== undefined &&
    last.methodField === http?.method &&
    last.rawPathField === event.rawPath &&
    last.httpPathField === http?.path &&
    last.stageField === requestContext?.stage &&
    last.routeKeyField === event.routeKey &&
    last.contextRouteKeyField === requestContext?.routeKey &&
    last.basePathVariable === basePathVariable &&
    last.routesVariable === routesVariable &&
    last.defaults === defaults
  ) {
    return last;
  }
  const method = stringOrUndefined(http?.method);
  const rawPath = stringOrUndefined(event.rawPath) ?? stringOrUndefined(http?.path);
  if (method === undefined || rawPath === undefined)
    throw new UnrecognizedEventError('2.0 without method or path');
  const decodedPath = stringOrUndefined(http?.path);
  const shape: HttpShape = {
    defaults,
    methodField: http?.method,
    rawPathField: event.rawPath,
    httpPathField: http?.path,
    stageField: requestContext?.stage,
    routeKeyField: event.routeKey,
    contextRouteKeyField: requestContext?.routeKey,
    basePathVariable,
    routesVariable,
    method,
    path: withoutStagePrefix(rawPath, stringOrUndefined(requestContext?.stage)),
    basePath: basePathOf(stageVariables, defaults.basePath),
    route: {
      template: templateOfRouteKey(
        stringOrUndefined(event.routeKey) ?? stringOrUndefined(requestContext?.routeKey),
      ),
      scopes: routeScopesOf(stageVariables, defaults),
    },
    pathIssue: pathIssueOfAny([rawPath, decodedPath]),
  };
  lastHttpShape = shape;
  return shape;
}

/** The shape of a REST event (see RestShape), or undefined for an event without a parseable method ARN. */
function restShapeOf(event: TokenAuthorizerEvent, defaults: AuthorizerDefaults): RestShape | undefined {
  const last = lastRestShape;
  const stageVariables = event.stageVariables;
  const requestContext = event.requestContext;
  const basePathVariable = stageVariables?.[BASE_PATH_STAGE_VARIABLE];
  const routesVariable = stageVariables?.[ROUTE_SCOPES_STAGE_VARIABLE];
  if (
    last !== undefined &&
    last.methodArnText === event.methodArn &&
    last.type === event.type &&
    last.path === event.path &&
    last.contextPath === requestContext?.path &&
    last.resource === event.resource &&
    last.contextResourcePath === requestContext?.resourcePath &&
    last.basePathVariable === basePathVariable &&
    last.routesVariable === routesVariable &&
    last.defaults === defaults
  ) {
    return last;
  }
  const rest = readRestAuthorizerEvent(event);
  if (rest === undefined || typeof event.methodArn !== 'string') return undefined;
  const { methodArn, isTokenEvent } = rest;
  const basePath = isTokenEvent ? defaults.basePath : basePathOf(stageVariables, defaults.basePath);
  const paths = isTokenEvent
    ? [methodArn.path]
    : [methodArn.path, stringOrUndefined(event.path), stringOrUndefined(requestContext?.path)];
  // A TOKEN authorizer's only identity source is the token, so its cache cannot be keyed by
  // route: it never uses a map (and its event names no template anyway), only the area listing.
  const route: RouteContext = isTokenEvent
    ? { template: undefined, scopes: undefined }
    : {
        template: stringOrUndefined(event.resource) ?? stringOrUndefined(requestContext?.resourcePath),
        scopes: routeScopesOf(stageVariables, defaults),
      };
  const shape: RestShape = {
    defaults,
    methodArnText: event.methodArn,
    type: event.type,
    path: event.path,
    contextPath: requestContext?.path,
    resource: event.resource,
    contextResourcePath: requestContext?.resourcePath,
    basePathVariable,
    routesVariable,
    methodArn,
    isTokenEvent,
    basePath,
    paths,
    route,
    pathIssue: pathIssueOfAny(paths),
    mapped: mapsRoute(methodArn.method, route, basePath),
  };
  lastRestShape = shape;
  return shape;
}

/** The template of an HTTP API route key (`GET /v1/x/{id}` → `/v1/x/{id}`); `$default` has none. */
function templateOfRouteKey(routeKey: string | undefined): string | undefined {
  if (routeKey === undefined) return undefined;
  const space = routeKey.indexOf(' ');
  const template = space === -1 ? undefined : routeKey.slice(space + 1);
  return template?.startsWith('/') === true ? template : undefined;
}

/**
 * The request behind an authorizer event. `defaults` apply when the stage names no base path or
 * route map. Throws UnrecognizedEventError for an event API Gateway does not send, and
 * InvalidRouteScopesError for a map that does not decode.
 *
 * REST (`version` absent or '1.0', with `methodArn`): the method and path come from the method ARN,
 * because that is what API Gateway evaluates the returned policy against (and a TOKEN event carries
 * nothing else). HTTP API (`version` '2.0'): the method is `requestContext.http.method`, the real
 * one (the `routeKey` names the route, whose method may be ANY or, in AWS's own sample, disagree);
 * the path is `rawPath`, without the `/<stage>` prefix HTTP APIs put there on a named stage.
 */
export function readAuthorizerEvent(
  event: TokenAuthorizerEvent,
  defaults: AuthorizerDefaults,
): AuthorizerRequest {
  if (event.version === '2.0') {
    const shape = httpShapeOf(event, defaults);
    // No route-keyed check here: a simple response is a boolean for the method and path in the key,
    // so an HTTP API's cache must name them with or without a map (the construct always sets
    // them, and the synth fails otherwise); a map adds no new way to be wrong.
    return {
      gateway: 'http',
      authorization: headerValue(event.headers, 'authorization'),
      method: shape.method,
      path: shape.path,
      basePath: shape.basePath,
      sourceIp: stringOrUndefined(event.requestContext?.http?.sourceIp),
      route: shape.route,
      pathIssue: shape.pathIssue,
    };
  }
  if (event.version !== undefined && event.version !== '1.0') {
    throw new UnrecognizedEventError('unknown version');
  }
  const shape = restShapeOf(event, defaults);
  if (shape === undefined) throw new UnrecognizedEventError('no parseable methodArn');
  const { methodArn, isTokenEvent, paths, route } = shape;
  if (shape.mapped) assertRouteKeyedCache(event, methodArn.method, paths, route.template);
  return {
    gateway: 'rest',
    methodArn,
    authorization: restAuthorizationOf(event, isTokenEvent),
    method: methodArn.method,
    path: methodArn.path,
    basePath: shape.basePath,
    sourceIp: isTokenEvent ? undefined : stringOrUndefined(event.requestContext?.identity?.sourceIp),
    route,
    pathIssue: shape.pathIssue,
    keyedByPath: !isTokenEvent && isKeyedByPath(event, methodArn.method, paths),
  };
}

function withoutStagePrefix(path: string, stage: string | undefined): string {
  if (stage === undefined || stage === '' || stage === '$default') return path;
  const prefix = `/${stage}`;
  if (path === prefix) return '/';
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : path;
}

/**
 * Whether an area-rule answer is too large for API Gateway (MAX_POLICY_BYTES), so that a cache keyed
 * on the method and the path gets restRequestResponse instead.
 */
export function isOversized(result: RestAuthorizerResult): boolean {
  return policyBytes(result.policyDocument) > MAX_POLICY_BYTES;
}

/**
 * The area-rule answer narrowed to this request (requestPolicy): Allow its method on the stage when
 * the decision is VALID, else an explicit Deny. Only for a cache keyed on the method and the path.
 */
export function restRequestResponse(decision: Decision, methodArn: MethodArn): RestAuthorizerResult {
  const credential = decision.credential;
  if (credential === undefined) throw unauthorized();
  const allowed = decision.reason === 'VALID';
  const result: RestAuthorizerResult = {
    principalId: credential.userId,
    policyDocument: requestPolicy(methodArn.apiStageArn, methodArn.method, allowed),
    context: tokenAuthorizerContext(credential),
  };
  if (allowed) result.usageIdentifierKey = usageKeyValue(credential.tokenId);
  return result;
}

/**
 * How a REST answer is built: the decision, the request's method ARN and base path, and whether the
 * API keys its authorizer cache on the method and the path (`keyedByPath`).
 */
export type RestAnswer = (
  decision: Decision,
  methodArn: MethodArn,
  basePath: string,
  keyedByPath?: boolean,
) => RestAuthorizerResult;

/**
 * The REST answer. `keyedByPath`: the cache key holds the method and the path, so an area-rule
 * listing larger than MAX_POLICY_BYTES is narrowed to this request (else it is answered as is: a
 * key without the path cannot take a narrowed answer, see docs/security.md).
 */
export const restResponse: RestAnswer = (decision, methodArn, basePath, keyedByPath = false) => {
  const credential = decision.credential;
  if (isUnauthenticated(decision.reason) || credential === undefined) throw unauthorized();
  if (decision.reason === 'IP_NOT_ALLOWED') {
    return { principalId: credential.userId, policyDocument: denyAllPolicy(methodArn.apiStageArn) };
  }
  if (decision.route !== undefined) {
    // A mapped route: a policy about this method and template only. Cache-safe because an API with
    // a map keys its authorizer cache on the method and template too (see the header).
    const resource = routeResource(methodArn.apiStageArn, methodArn.method, decision.route.template);
    const allowed = decision.reason === 'VALID';
    const mapped: RestAuthorizerResult = {
      principalId: credential.userId,
      policyDocument: allowed ? allowPolicy(methodArn.apiStageArn, [resource]) : denyPolicy([resource]),
      context: tokenAuthorizerContext(credential),
    };
    if (allowed) mapped.usageIdentifierKey = usageKeyValue(credential.tokenId);
    return mapped;
  }
  // VALID and INSUFFICIENT_SCOPE get the same policy: cache-safe for every route of this stage.
  const resources = allowedResources(methodArn.apiStageArn, basePath, credential.scopes);
  const listing: RestAuthorizerResult = {
    principalId: credential.userId,
    policyDocument: allowPolicy(methodArn.apiStageArn, resources),
    context: tokenAuthorizerContext(credential),
  };
  // Scopes that allow nothing on this API make a Deny of the stage (allowPolicy): no key then.
  if (resources.length > 0) listing.usageIdentifierKey = usageKeyValue(credential.tokenId);
  return keyedByPath && isOversized(listing) ? restRequestResponse(decision, methodArn) : listing;
};

/**
 * The REST answer for a refused path (NON_CANONICAL_PATH): what the token would get anyway (a 401
 * stays a 401, an IP refusal stays a Deny of the stage), with an explicit Deny of exactly this
 * method ARN added, so that the cached output still answers every other route as the token's
 * scopes say.
 */
export const restRefusal: RestAnswer = (decision, methodArn, basePath, keyedByPath = false) => {
  const result = restResponse(decision, methodArn, basePath, keyedByPath);
  if (keyedByPath) {
    // The cache key holds the method and the path: the answer is only ever about this request, so a
    // Deny of this method on the stage, whose size does not grow with the path (docs/security.md).
    return {
      principalId: result.principalId,
      policyDocument: requestPolicy(methodArn.apiStageArn, methodArn.method, false),
    };
  }
  const refused = `${methodArn.apiStageArn}/${methodArn.method}${methodArn.path}`;
  const refusal: RestAuthorizerResult = {
    principalId: result.principalId,
    policyDocument: {
      ...result.policyDocument,
      Statement: [...result.policyDocument.Statement, ...denyPolicy([refused]).Statement],
    },
  };
  // The cached answer still allows the token's other routes: they need its usage plan's key.
  if (result.usageIdentifierKey !== undefined) refusal.usageIdentifierKey = result.usageIdentifierKey;
  return refusal;
};

/**
 * The allowed HTTP answer of each credential object, frozen: it depends on the credential only, and
 * the verification cache hands out the same object on every hit (a new read brings a new one), so a
 * repeated cache hit builds no context object (see rest-responses.ts for the REST answers).
 */
const allowedHttpAnswers = new WeakMap<CredentialRecord, HttpAuthorizerResult>();
const HTTP_REFUSAL: HttpAuthorizerResult = Object.freeze({ isAuthorized: false });

export function httpResponse(decision: Decision): HttpAuthorizerResult {
  const credential = decision.credential;
  if (decision.reason !== 'VALID' || credential === undefined) return HTTP_REFUSAL;
  let answer = allowedHttpAnswers.get(credential);
  if (answer === undefined) {
    answer = Object.freeze({
      isAuthorized: true,
      context: Object.freeze(tokenAuthorizerContext(credential)),
    });
    allowedHttpAnswers.set(credential, answer);
  }
  return answer;
}
