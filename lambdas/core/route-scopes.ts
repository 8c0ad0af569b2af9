import { SCOPE_PATTERN } from './scope-patterns.js';

// An explicit route→scope map, for APIs whose paths do not start with an area: keys are
// `<METHOD> <route>` with the route relative to the API's base path in API Gateway's template
// syntax (`GET /reports/{id}`, `ANY /jobs/{proxy+}`), values are scopes (`reports:read`). The
// authorizer looks up the route API Gateway matched (REST `resource`, HTTP API `routeKey`), so
// there is no second, possibly different, path matcher: `<METHOD> <route>` first, then `ANY <route>`.
// Routes not in the map fall back to the area rule (first segment after the base path).
//
// The map travels to the one deployed authorizer in a stage variable (ROUTE_SCOPES_STAGE_VARIABLE)
// as base64url JSON: stage variable values allow only `[A-Za-z0-9-._~:/?#&=,]`, so JSON with
// braces, quotes and spaces cannot go there as it is.

export type RouteScopeMap = Readonly<Record<string, string>>;

/** The stage variable holding an API's route→scope map (base64url JSON). */
export const ROUTE_SCOPES_STAGE_VARIABLE = 'accessTokensRoutes';

const ROUTE_KEY_PATTERN =
  /^(GET|HEAD|OPTIONS|POST|PUT|PATCH|DELETE|ANY) (\/|(\/(\{[A-Za-z0-9_]+\+?\}|[A-Za-z0-9._~!$&'()*+,;=:@%-]+))+)$/;
/** Stage variable values are limited in length; a map that does not fit must be split across APIs. */
const MAX_ENCODED_ROUTE_SCOPES_LENGTH = 2048;

export class InvalidRouteScopesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRouteScopesError';
  }
}

/** Validates a map: every key a `<METHOD> <route>`, every value a scope. Throws listing every problem. */
export function parseRouteScopeMap(input: unknown): RouteScopeMap {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidRouteScopesError('route scopes must be an object of "<METHOD> <route>": "<scope>"');
  }
  const problems: string[] = [];
  const entries: [string, string][] = [];
  for (const [key, value] of Object.entries(input)) {
    if (!ROUTE_KEY_PATTERN.test(key)) problems.push(`"${key}" is not "<METHOD> /<route>"`);
    else if (typeof value !== 'string' || !SCOPE_PATTERN.test(value)) {
      problems.push(`"${key}": ${JSON.stringify(value)} is not a scope (<area>:read|write)`);
    } else entries.push([key, value]);
  }
  if (problems.length > 0) throw new InvalidRouteScopesError(`invalid route scopes: ${problems.join('; ')}`);
  // Own properties only, whatever the keys (lookupRouteScope reads them with Object.hasOwn).
  return Object.fromEntries(entries);
}

export function encodeRouteScopes(map: RouteScopeMap): string {
  const encoded = Buffer.from(JSON.stringify(parseRouteScopeMap(map)), 'utf8').toString('base64url');
  if (encoded.length > MAX_ENCODED_ROUTE_SCOPES_LENGTH) {
    throw new InvalidRouteScopesError(
      `the encoded route scopes take ${encoded.length} characters; a stage variable holds at most ${MAX_ENCODED_ROUTE_SCOPES_LENGTH}`,
    );
  }
  return encoded;
}

export function decodeRouteScopes(encoded: string): RouteScopeMap {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidRouteScopesError('route scopes stage variable is not base64url JSON');
  }
  return parseRouteScopeMap(parsed);
}

// ---------------------------------------------------------------------------------------------
// Lookup, as the token authorizer does it per request.

/**
 * The route of a matched template relative to the (normalized) base path, in the map's syntax:
 * `/v1/reports/{id}` with base path `/v1` is `/reports/{id}`, the base path itself is `/`. A
 * template outside the base path (whole segments only, as gateway-scope.ts's areaOf) has no route:
 * such a request is never looked up in the map.
 */
export function routeOfTemplate(template: string, basePath: string): string | undefined {
  if (basePath === '') return template.startsWith('/') ? template : undefined;
  if (template === basePath) return '/';
  return template.startsWith(`${basePath}/`) ? template.slice(basePath.length) : undefined;
}

interface RouteScopeMatch {
  /** The map key that matched: `<METHOD> <route>` or `ANY <route>`. */
  readonly key: string;
  readonly scope: string;
}

/** `<METHOD> <route>` first, then `ANY <route>`; undefined when neither is in the map. */
export function lookupRouteScope(
  map: RouteScopeMap,
  method: string,
  route: string,
): RouteScopeMatch | undefined {
  for (const key of [`${method.toUpperCase()} ${route}`, `ANY ${route}`]) {
    // Own properties only: a template such as `/constructor` must not find Object.prototype's.
    if (Object.hasOwn(map, key)) {
      const scope = map[key];
      if (scope !== undefined) return { key, scope };
    }
  }
  return undefined;
}

/**
 * Decoded maps, memoized per distinct input: one deployed authorizer sees a handful of stage
 * variable values, each on every request, and decoding plus validation per request would be
 * wasted work on the hot path. Failures are memoized too (as the error to throw again), so a broken
 * map costs one decode per container, not one per request. Bounded, because the inputs are not
 * ours: when full it simply starts over.
 */
export class RouteScopeDecoder {
  private readonly memo = new Map<string, RouteScopeMap | InvalidRouteScopesError>();

  constructor(private readonly maxEntries = 100) {}

  /** The stage variable form (base64url JSON). Throws InvalidRouteScopesError. */
  fromStageVariable(encoded: string): RouteScopeMap {
    return this.memoized(`stage:${encoded}`, () => decodeRouteScopes(encoded));
  }

  /** The env var form (plain JSON). Throws InvalidRouteScopesError. */
  fromJson(json: string): RouteScopeMap {
    return this.memoized(`json:${json}`, () => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(json);
      } catch {
        throw new InvalidRouteScopesError('route scopes are not JSON');
      }
      return parseRouteScopeMap(parsed);
    });
  }

  private memoized(key: string, decode: () => RouteScopeMap): RouteScopeMap {
    let entry = this.memo.get(key);
    if (entry === undefined) {
      try {
        entry = decode();
      } catch (error) {
        if (!(error instanceof InvalidRouteScopesError)) throw error;
        entry = error;
      }
      if (this.memo.size >= this.maxEntries) this.memo.clear();
      this.memo.set(key, entry);
    }
    if (entry instanceof InvalidRouteScopesError) throw entry;
    return entry;
  }
}
