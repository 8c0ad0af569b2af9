import { AREA_PATTERN, type ScopeAction } from './settings.js';

// Which scope a gateway request needs (DESIGN.md "Authorization model"): GET/HEAD/OPTIONS need
// `<area>:read`, POST/PUT/PATCH/DELETE need `<area>:write`, and the area is the first path segment
// after the API's base path. Any other method, a path outside the base path, or a segment that is
// not an area needs a scope no token can hold.

/**
 * The stage variable in which an API names its base path: one deployed token authorizer serves many
 * APIs (the demo API sets `/demo`).
 */
export const BASE_PATH_STAGE_VARIABLE = 'accessTokensBasePath';

export const READ_METHODS = ['GET', 'HEAD', 'OPTIONS'] as const;
export const WRITE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;

export const METHODS_BY_ACTION: Readonly<Record<ScopeAction, readonly string[]>> = {
  read: READ_METHODS,
  write: WRITE_METHODS,
};

const ACTION_BY_METHOD: ReadonlyMap<string, ScopeAction> = new Map<string, ScopeAction>([
  ...READ_METHODS.map((method) => [method, 'read'] as const),
  ...WRITE_METHODS.map((method) => [method, 'write'] as const),
]);

export function actionOf(method: string): ScopeAction | undefined {
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

export interface RequiredScope {
  readonly area: string | undefined;
  readonly action: ScopeAction | undefined;
  /** `<area>:<action>`, or undefined when the request cannot be allowed by any scope. */
  readonly scope: string | undefined;
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
