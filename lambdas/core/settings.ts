import type { Quota, RateLimit, TokenLimits } from './rate-limits.js';
import { TOKEN_PREFIX_PATTERN } from './token-format.js';
// The token policy: what users may create and how the gateway treats tokens. The types and rules
// live here, without zod; the schema that validates `cdk.json` context at synth time
// (lib/config.ts), the local stack's settings and the POLICY_SETTINGS env var of every function is
// the contract's (lambdas/contract/policy-settings.ts), built on the field definitions below.

// The patterns live in a zod-free module (the token authorizer imports them without zod).

/** A token type's name, in the configuration and in a create request alike. */
export const TOKEN_TYPE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * How wide one allowlist entry of a type that requires an allowlist may be, as the shortest prefix
 * length accepted per family. Without a bound, `0.0.0.0/1` + `128.0.0.0/1` (or `::/1` + `8000::/1`)
 * "limit" a token to the whole Internet. The default refuses IPv4 ranges wider than a /8 and IPv6
 * ranges wider than a /32 (an ISP's allocation).
 */
export const DEFAULT_MIN_ALLOWLIST_PREFIX = { ipv4: 8, ipv6: 32 } as const;

export interface AllowlistBound {
  ipv4: number;
  ipv6: number;
}

export interface TokenTypeSettings {
  description: string;
  /** Scopes this type may carry; omitted = any scope in the catalogue. */
  allowedScopes?: string[] | undefined;
  /** Vendors' "profile read" style tokens must be limited to known addresses. */
  requireIpAllowlist: boolean;
  /** With requireIpAllowlist: the shortest prefix an entry may have, per family. */
  minAllowlistPrefix?: AllowlistBound | undefined;
  /** The type's throttle: the most any token of the type gets (docs/rate-limits.md). */
  rateLimit: RateLimit;
  /** The type's quota; omitted = none (a token may still be given one). */
  quota?: Quota | undefined;
}

export interface PolicySettings {
  tokenPrefix: string;
  expiryPresetsDays: number[];
  maxLifetimeDays: number;
  allowNoExpiry: boolean;
  maxActiveTokensPerUser: number;
  maxActiveTokensPerAccount: number;
  scopeAreas: string[];
  tokenTypes: Record<string, TokenTypeSettings>;
  defaultTokenType: string;
  /** Upper bound on how long a revoked token may still pass: gateway cache TTL + in-process cache. */
  revocationWindowSeconds: number;
  /** The authorizer records a token's lastUsedAt at most once per this many seconds. */
  lastUsedIntervalSeconds: number;
  /** Audit events are kept this long (DynamoDB TTL), in days. */
  auditRetentionDays: number;
  /**
   * How long the authorizer reuses a credential it read, in seconds. Counted inside the revocation
   * window: the effective value is min(this, revocationWindowSeconds), and API Gateway's result
   * cache gets the rest of the window (gatewayCacheTtlSeconds).
   */
  verificationCacheSeconds: number;
  /** How long the authorizer remembers that a well-formed token does not exist, in seconds. */
  verificationCacheNegativeSeconds: number;
  /** Credentials one authorizer container keeps (least recently used go first). */
  verificationCacheMaxEntries: number;
  /**
   * Tokens that may hold a gateway usage key at once in this deployment (API Gateway allows 10,000
   * API keys per account and Region, shared with anything else there): creating one more is refused
   * with 409 LIMIT_EXCEEDED.
   */
  usageKeyBudget: number;
  /**
   * Distinct override limit classes (usage plans beyond the types' own) this deployment may create
   * (API Gateway allows 300 usage plans per Region): a token override that needs one more is refused
   * with 409 LIMIT_EXCEEDED.
   */
  limitClassBudget: number;
  /**
   * Where GitHub publishes the public keys that sign its secret scanning reports (POST
   * /leaks/github, docs/leaks.md): https, or http to a loopback address (local tests).
   */
  leaksPublicKeysUrl: string;
}

// ---------------------------------------------------------------------------------------------
// The settings the token authorizer reads. They are checked by hand in the authorizer
// (lambdas/runtime/authorizer-settings.ts), which keeps zod out of its bundle, and the contract's
// zod schema builds the same fields from these definitions: one definition of each field's type,
// bounds, default and message.

export const TOKEN_PREFIX_DEFAULT = 'atk';
export const TOKEN_PREFIX_MESSAGE =
  'tokenPrefix must be 2-16 lowercase letters or digits, starting with a letter';

/** True for a valid tokenPrefix. */
export function isTokenPrefix(value: unknown): value is string {
  return typeof value === 'string' && TOKEN_PREFIX_PATTERN.test(value);
}

export interface IntegerSetting {
  readonly min: number;
  readonly max: number;
  readonly fallback: number;
}

export type AuthorizerIntegerSetting =
  | 'revocationWindowSeconds'
  | 'lastUsedIntervalSeconds'
  | 'verificationCacheSeconds'
  | 'verificationCacheNegativeSeconds'
  | 'verificationCacheMaxEntries';

/** Bounds and default of each integer setting the authorizer reads. */
export const AUTHORIZER_INTEGER_SETTINGS: Readonly<Record<AuthorizerIntegerSetting, IntegerSetting>> = {
  revocationWindowSeconds: { min: 0, max: 3600, fallback: 60 },
  lastUsedIntervalSeconds: { min: 1, max: 86_400, fallback: 900 },
  verificationCacheSeconds: { min: 0, max: 3600, fallback: 10 },
  verificationCacheNegativeSeconds: { min: 0, max: 300, fallback: 5 },
  verificationCacheMaxEntries: { min: 0, max: 1_000_000, fallback: 10_000 },
};

/** True for a value the integer setting accepts. */
export function isIntegerSetting(value: unknown, { min, max }: IntegerSetting): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

export const integerSettingMessage = (field: string, { min, max }: IntegerSetting): string =>
  `${field} must be an integer from ${min} to ${max}`;

// ---------------------------------------------------------------------------------------------
// Rules over settings

/** The authorizer's in-process cache TTL: never longer than the revocation window. */
export function verificationCacheTtlSeconds(
  settings: Pick<PolicySettings, 'verificationCacheSeconds' | 'revocationWindowSeconds'>,
): number {
  return Math.min(settings.verificationCacheSeconds, settings.revocationWindowSeconds);
}

/**
 * API Gateway's authorizer result cache TTL: what the in-process cache leaves of the revocation
 * window, so that a revoked token passes for at most revocationWindowSeconds in total.
 */
export function gatewayCacheTtlSeconds(settings: PolicySettings): number {
  return settings.revocationWindowSeconds - verificationCacheTtlSeconds(settings);
}

/**
 * The configured token type of that name, or undefined. Own properties only: the types are a plain
 * object, and `constructor`, `__proto__`, `toString` or `hasOwnProperty` must find nothing unless
 * the configuration names such a type (a prototype member has no allowedScopes and no
 * requireIpAllowlist, so finding one would lift every restriction).
 */
export function tokenTypeNamed(
  settings: Pick<PolicySettings, 'tokenTypes'>,
  name: string,
): TokenTypeSettings | undefined {
  return Object.hasOwn(settings.tokenTypes, name) ? settings.tokenTypes[name] : undefined;
}

/** The allowlist bound of a type that requires an allowlist; undefined for any other type. */
export function allowlistBoundOf(type: TokenTypeSettings): AllowlistBound | undefined {
  if (!type.requireIpAllowlist) return undefined;
  return { ...DEFAULT_MIN_ALLOWLIST_PREFIX, ...type.minAllowlistPrefix };
}

/** A type's ceiling: the limits its tokens get unless they carry lower ones. */
export function typeLimitsOf(type: TokenTypeSettings): TokenLimits {
  return { rateLimit: type.rateLimit, quota: type.quota ?? null };
}

export function scopeCatalogue(settings: PolicySettings): string[] {
  return settings.scopeAreas.flatMap((area) => [`${area}:read`, `${area}:write`]);
}
