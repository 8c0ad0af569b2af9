import { type ErrorDetail, ForbiddenError, ValidationError } from './errors.js';
import type { Role } from './model.js';
import {
  effectiveLimits,
  limitClassOf,
  limitsAboveCeiling,
  type Quota,
  type RateLimit,
  type TokenLimits,
  type TokenLimitsOverride,
} from './rate-limits.js';
import { type PolicySettings, type TokenTypeSettings, tokenTypeNamed, typeLimitsOf } from './settings.js';

// A token's own limits in the management API (README "Rate limits and quotas", "Limits in the
// API"): what a create or an edit may ask for, and what the token's detail shows.
//
// Who may set what:
// - at creation, anyone who may create a token gives it any limits up to its type's ceiling;
// - on an edit, an admin sets anything up to the type's ceiling, including `null` (back to the
//   type's); anyone else may only lower: every number at most what the token has now, and a quota
//   kept (dropping it, or clearing an override below the type's, raises the token's limits).
// An override is kept as given even when it equals the ceiling: the token then stays where it is
// if the type is raised later.

/** The `limits` of a create or edit request: a field absent or null = the type's (edit: absent = unchanged). */
export interface TokenLimitsRequest {
  readonly rateLimit?: RateLimit | null | undefined;
  readonly quota?: Quota | null | undefined;
}

/** The stored form: null when the token has no limits of its own. */
function normalised(override: TokenLimitsOverride): TokenLimitsOverride | null {
  return override.rateLimit === null && override.quota === null ? null : override;
}

/** Problems of `override` against the type's ceiling, as detail paths under `limits`. */
function ceilingIssues(override: TokenLimitsOverride, ceiling: TokenLimits): ErrorDetail[] {
  return limitsAboveCeiling(override, ceiling).map((message) => ({
    // limitsAboveCeiling starts every message with the field's path (`rateLimit.burst 9 is above…`).
    path: `limits.${message.split(' ')[0] ?? ''}`,
    message,
  }));
}

/**
 * The override a create asks for (null: the type's), or the problems with it. `type` undefined
 * (an unknown type, reported elsewhere) checks nothing.
 */
export function resolveCreateLimits(
  type: TokenTypeSettings | undefined,
  request: TokenLimitsRequest | undefined,
  issues: ErrorDetail[],
): TokenLimitsOverride | null {
  if (request === undefined) return null;
  const override = normalised({ rateLimit: request.rateLimit ?? null, quota: request.quota ?? null });
  if (override !== null && type !== undefined) issues.push(...ceilingIssues(override, typeLimitsOf(type)));
  return override;
}

function sameRate(a: RateLimit | null, b: RateLimit | null): boolean {
  if (a === null || b === null) return a === b;
  return a.requestsPerSecond === b.requestsPerSecond && a.burst === b.burst;
}

function sameQuota(a: Quota | null, b: Quota | null): boolean {
  if (a === null || b === null) return a === b;
  return a.limit === b.limit && a.period === b.period;
}

export function sameOverride(a: TokenLimitsOverride | null, b: TokenLimitsOverride | null): boolean {
  return (
    sameRate(a?.rateLimit ?? null, b?.rateLimit ?? null) && sameQuota(a?.quota ?? null, b?.quota ?? null)
  );
}

/** Where `next` gives more than `current` (each number, and a quota dropped or moved to another period). */
function raisedIssues(next: TokenLimits, current: TokenLimits): ErrorDetail[] {
  const issues: ErrorDetail[] = [];
  const raised = (path: string, to: number | string, from: number | string) =>
    issues.push({ path: `limits.${path}`, message: `${to} is above the token's current ${from}` });
  if (next.rateLimit.requestsPerSecond > current.rateLimit.requestsPerSecond) {
    raised(
      'rateLimit.requestsPerSecond',
      next.rateLimit.requestsPerSecond,
      current.rateLimit.requestsPerSecond,
    );
  }
  if (next.rateLimit.burst > current.rateLimit.burst) {
    raised('rateLimit.burst', next.rateLimit.burst, current.rateLimit.burst);
  }
  if (current.quota !== null) {
    if (next.quota === null) {
      issues.push({
        path: 'limits.quota',
        message: `removing the quota lifts the token's current ${current.quota.limit} per ${current.quota.period}`,
      });
    } else if (next.quota.period !== current.quota.period) {
      issues.push({
        path: 'limits.quota.period',
        message: `must stay the token's current ${current.quota.period}`,
      });
    } else if (next.quota.limit > current.quota.limit) {
      raised('quota.limit', next.quota.limit, current.quota.limit);
    }
  }
  return issues;
}

/**
 * The override an edit leaves the token with. `request` undefined, or asking for what the token
 * has, is no change and checks nothing (a deployment that lowered a type's ceiling since must not
 * make a harmless edit of another field fail). A field absent from `request` stays as it is; null
 * sets it back to the type's. Throws ValidationError (400) above the type's ceiling, and
 * ForbiddenError (403) when someone other than an admin would raise the token's limits.
 */
export function resolveLimitsUpdate(
  settings: Pick<PolicySettings, 'tokenTypes'>,
  current: { readonly type: string; readonly limits: TokenLimitsOverride | null },
  request: TokenLimitsRequest | undefined,
  role: Role,
): TokenLimitsOverride | null {
  if (request === undefined) return current.limits;
  const next = normalised({
    rateLimit: request.rateLimit === undefined ? (current.limits?.rateLimit ?? null) : request.rateLimit,
    quota: request.quota === undefined ? (current.limits?.quota ?? null) : request.quota,
  });
  if (sameOverride(next, current.limits)) return current.limits;
  const type = tokenTypeNamed(settings, current.type);
  if (type === undefined) {
    throw new ValidationError('The token edit breaks the token policy', [
      {
        path: 'limits',
        message: `token type "${current.type}" is no longer configured; its limits cannot be changed`,
      },
    ]);
  }
  const ceiling = typeLimitsOf(type);
  if (next !== null) {
    const issues = ceilingIssues(next, ceiling);
    if (issues.length > 0) throw new ValidationError('The token edit breaks the token policy', issues);
  }
  if (role !== 'admin') {
    const issues = raisedIssues(effectiveLimits(ceiling, next), effectiveLimits(ceiling, current.limits));
    if (issues.length > 0) {
      throw new ForbiddenError("Only an admin can raise a token's limits; you may lower them", issues);
    }
  }
  return next;
}

/**
 * Which usage plan a token's key belongs to (its limit class) and the limits that apply; undefined
 * when its type is no longer configured.
 */
export function usageClassOfToken(
  settings: Pick<PolicySettings, 'tokenTypes'>,
  token: { readonly type: string; readonly limits: TokenLimitsOverride | null },
): { readonly limitClass: string; readonly limits: TokenLimits } | undefined {
  const type = tokenTypeNamed(settings, token.type);
  if (type === undefined) return undefined;
  const ceiling = typeLimitsOf(type);
  const limits = effectiveLimits(ceiling, token.limits);
  return { limitClass: limitClassOf(token.type, ceiling, limits), limits };
}

/** A class of an override (not a type's own plan): it needs a slot under limitClassBudget. */
export function isOverrideClass(limitClass: string): boolean {
  return limitClass.startsWith('limit-');
}

/** The token's limits as its detail shows them. */
export interface TokenLimitsView {
  rateLimit: RateLimit;
  quota: Quota | null;
  /** `type`: the type's ceiling; `token`: the token has limits of its own. */
  source: 'type' | 'token';
}

/**
 * What applies to a token; null when its type is no longer configured and it has no override
 * (nothing to show). A partial override takes the rest from the type.
 */
export function tokenLimitsView(
  settings: Pick<PolicySettings, 'tokenTypes'>,
  token: { readonly type: string; readonly limits: TokenLimitsOverride | null },
): TokenLimitsView | null {
  const type = tokenTypeNamed(settings, token.type);
  const source = token.limits === null ? 'type' : 'token';
  if (type === undefined) {
    const rateLimit = token.limits?.rateLimit ?? null;
    return rateLimit === null ? null : { rateLimit, quota: token.limits?.quota ?? null, source };
  }
  const effective = effectiveLimits(typeLimitsOf(type), token.limits);
  return { rateLimit: { ...effective.rateLimit }, quota: effective.quota && { ...effective.quota }, source };
}

/** An override as the audit trail records it: compact JSON, null for none. */
export function limitsAuditValue(limits: TokenLimitsOverride | null): string | null {
  if (limits === null) return null;
  // Built field by field, so the text does not depend on where the override came from (a request,
  // an item read back): one override, one text.
  const { rateLimit, quota } = limits;
  return JSON.stringify({
    rateLimit: rateLimit && { requestsPerSecond: rateLimit.requestsPerSecond, burst: rateLimit.burst },
    quota: quota && { limit: quota.limit, period: quota.period },
  });
}
