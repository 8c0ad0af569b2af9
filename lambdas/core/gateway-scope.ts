import { lookupRouteScope, type RouteScopeMap, routeOfTemplate } from './route-scopes.js';
import { AREA_PATTERN, SCOPE_PATTERN, type ScopeAction } from './scope-patterns.js';

// Which scope a gateway request needs (docs/design.md "Authorization model"): GET/HEAD/OPTIONS need
// `<area>:read`, POST/PUT/PATCH/DELETE need `<area>:write`, and the area is the first path segment
// after the API's base path. Any other method, a path outside the base path, or a segment that is
// not an area needs a scope no token can hold.
//
// An API may override this per route with a route→scope map (route-scopes.ts): when the route the
// gateway matched (its template) is in the map, the map's scope is the one needed, whatever the
// method and path would say under the area rule.

/**
 * The stage variable in which an API names its base path: one deployed token authorizer serves many
 * APIs (the demo API sets `/demo`).
 */
export const BASE_PATH_STAGE_VARIABLE = 'accessTokensBasePath';

const READ_METHODS = ['GET', 'HEAD', 'OPTIONS'] as const;
const WRITE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;

export const METHODS_BY_ACTION: Readonly<Record<ScopeAction, readonly string[]>> = {
  read: READ_METHODS,
  write: WRITE_METHODS,
};

const ACTION_BY_METHOD: ReadonlyMap<string, ScopeAction> = new Map<string, ScopeAction>([
  ...READ_METHODS.map((method) => [method, 'read'] as const),
  ...WRITE_METHODS.map((method) => [method, 'write'] as const),
]);

function actionOf(method: string): ScopeAction | undefined {
  return ACTION_BY_METHOD.get(method.toUpperCase());
}

/**
 * A base path as the authorizer compares it: a leading slash, no trailing slash, '' for none.
 * `demo`, `/demo/` and `/demo` are all `/demo`; `/`, '' and undefined are ''.
 */
export function normalizeBasePath(raw: string | undefined): string {
  if (raw === undefined) return '';
  const trimmed = raw.trim().replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `/${trimmed}`;
}

/**
 * The first path segment after the base path when it is a valid area name, else undefined.
 * `basePath` must be normalized. The base path matches whole segments only: with `/demo`,
 * `/demo/content/x` has area `content` but `/demonstration/content` has none.
 */
export function areaOf(path: string, basePath: string): string | undefined {
  if (basePath !== '') {
    if (!path.startsWith(basePath) || path.charCodeAt(basePath.length) !== 0x2f /* / */) return undefined;
  } else if (path.charCodeAt(0) !== 0x2f) {
    return undefined;
  }
  const start = basePath.length + 1;
  const end = path.indexOf('/', start);
  const segment = end === -1 ? path.slice(start) : path.slice(start, end);
  return AREA_PATTERN.test(segment) ? segment : undefined;
}

interface RequiredScope {
  readonly area: string | undefined;
  readonly action: ScopeAction | undefined;
  /** `<area>:<action>`, or undefined when the request cannot be allowed by any scope. */
  readonly scope: string | undefined;
  /** Present only when the scope came from a route→scope map. */
  readonly route?: MappedRoute;
}

/** A request whose matched route is in the API's route→scope map. */
export interface MappedRoute {
  /** The map key that matched (`GET /reports/{id}` or `ANY /reports/{id}`). */
  readonly key: string;
  /** The template as the gateway matched it, base path included: the REST policy is built from it. */
  readonly template: string;
}

/** What the gateway told us about the matched route, and the API's map (if it has one). */
export interface RouteContext {
  /** REST `resource`, or the path of an HTTP API `routeKey`; undefined when the event names none. */
  readonly template: string | undefined;
  readonly scopes: RouteScopeMap | undefined;
}

export function requiredScope(method: string, path: string, basePath: string): RequiredScope {
  const area = areaOf(path, basePath);
  const action = actionOf(method);
  return {
    area,
    action,
    scope: area === undefined || action === undefined ? undefined : `${area}:${action}`,
  };
}

/**
 * requiredScope with the API's route→scope map: the map's scope when the matched template (relative
 * to the base path) is in it, `<METHOD> <route>` before `ANY <route>`; otherwise the area rule.
 */
export function requiredScopeFor(
  method: string,
  path: string,
  basePath: string,
  route: RouteContext | undefined,
): RequiredScope {
  // The same request again (a busy route; the token authorizer hands the same route object while
  // the event's shape repeats): the answer of last time, which depends on these four only.
  const last = lastRequired;
  if (
    last !== undefined &&
    last.route === route &&
    last.method === method &&
    last.path === path &&
    last.basePath === basePath
  ) {
    return last.required;
  }
  const required = requiredScopeUncached(method, path, basePath, route);
  lastRequired = { method, path, basePath, route, required };
  return required;
}

/** requiredScopeFor's last call (RouteContext is read-only: the same object means the same map and template). */
let lastRequired:
  | {
      readonly method: string;
      readonly path: string;
      readonly basePath: string;
      readonly route: RouteContext | undefined;
      readonly required: RequiredScope;
    }
  | undefined;

function requiredScopeUncached(
  method: string,
  path: string,
  basePath: string,
  route: RouteContext | undefined,
): RequiredScope {
  const template = route?.template;
  if (route?.scopes !== undefined && template !== undefined) {
    const relative = routeOfTemplate(template, basePath);
    const match = relative === undefined ? undefined : lookupRouteScope(route.scopes, method, relative);
    if (match !== undefined) {
      // The map was validated (parseRouteScopeMap), so the value is a scope; re-checked anyway so
      // that a value that is not one can only ever need a scope no token holds.
      const parsed = SCOPE_PATTERN.exec(match.scope);
      return {
        area: parsed?.[1],
        action: parsed?.[2] as ScopeAction | undefined,
        scope: parsed === null ? undefined : match.scope,
        route: { key: match.key, template },
      };
    }
  }
  return requiredScope(method, path, basePath);
}

// ---------------------------------------------------------------------------------------------
// Paths the authorizer refuses to judge. The scope follows from the path (or the template the
// gateway matched for it), and a backend may normalise a path differently from the gateway:
// `/v1/content/../system/x` could be judged `content` here and served as `system` there. API
// Gateway is expected to normalise dot segments, but defence in depth does not rely on every
// gateway (or custom domain, or proxy in front of one) doing so. Refused outright: a `.` or `..`
// segment, an encoded separator or dot (`%2F`, `%5C`, `%2E`, in any case and however often the
// `%` itself is encoded, `%252F`), and a backslash, which some servers treat as `/`.

/** Why a path is refused; undefined for a path the authorizer judges. */
export type PathIssue = 'DOT_SEGMENT' | 'ENCODED_SEPARATOR' | 'BACKSLASH';

const DOT_SEGMENT = /(?:^|\/)\.{1,2}(?:\/|$)/;
const ENCODED_SEPARATOR = /%(?:25)*(?:2e|2f|5c)/i;

export function pathIssueOf(path: string): PathIssue | undefined {
  if (DOT_SEGMENT.test(path)) return 'DOT_SEGMENT';
  if (ENCODED_SEPARATOR.test(path)) return 'ENCODED_SEPARATOR';
  if (path.includes('\\')) return 'BACKSLASH';
  return undefined;
}

/** The first issue among every form of the path an event carries (raw, decoded, with the stage). */
export function pathIssueOfAny(paths: readonly (string | undefined)[]): PathIssue | undefined {
  for (const path of paths) {
    if (path === undefined) continue;
    const issue = pathIssueOf(path);
    if (issue !== undefined) return issue;
  }
  return undefined;
}
