import type { AuditAction, Role } from './model.js';
import type { Quota, RateLimit } from './rate-limits.js';
import type { TokenLimitsRequest } from './token-limits.js';

// What the use cases take and give, in the domain's terms. The management API's contract
// (lambdas/contract/api-schemas.ts) validates requests into these shapes and describes these
// views on the wire; the HTTP layer (lambdas/http/) hands the one to the other. The contract checks
// at compile time that its schemas and these types agree (contract/api-schemas.ts, "one shape").

/** Limits of one token's fields; the contract's schemas and GET /policy use the same numbers. */
export const NAME_MAX_LENGTH = 100;
export const DESCRIPTION_MAX_LENGTH = 500;
export const MAX_SCOPES_PER_TOKEN = 50;
export const MAX_ALLOWED_IPS_PER_TOKEN = 20;
/** The longest rotation grace period: the old secret keeps working at most this long. */
export const MAX_GRACE_PERIOD_SECONDS = 86_400;

export const LIST_STATUS_FILTERS = ['active', 'revoked', 'expired', 'all'] as const;
export type ListStatusFilter = (typeof LIST_STATUS_FILTERS)[number];

/** A new token, as its creator asks for it (already well-formed; the policy checks the rest). */
export interface CreateTokenInput {
  readonly name: string;
  readonly description: string;
  readonly scopes: readonly string[];
  readonly expiresInDays?: number | undefined;
  /** null: never expires (only where the policy allows it). */
  readonly expiresAt?: string | null | undefined;
  readonly type?: string | undefined;
  readonly allowedIps?: readonly string[] | undefined;
  /** The token's own limits, up to its type's (token-limits.ts); absent or null fields: the type's. */
  readonly limits?: TokenLimitsRequest | undefined;
}

/** The fields to change; absent fields stay as they are. */
export interface UpdateTokenInput {
  readonly name?: string | undefined;
  readonly description?: string | undefined;
  readonly scopes?: readonly string[] | undefined;
  readonly allowedIps?: readonly string[] | undefined;
  readonly expiresAt?: string | null | undefined;
  /** Absent fields stay as they are; null: back to the type's (token-limits.ts says who may). */
  readonly limits?: TokenLimitsRequest | undefined;
}

export interface RotateTokenInput {
  readonly gracePeriodSeconds: number;
}

/** Whose tokens to list: the caller's own, another user's, or the account's (`*`). */
export interface ListTokensInput {
  readonly status: ListStatusFilter;
  readonly userId?: string | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

export interface RevokeAllInput {
  readonly userId?: string | undefined;
}

export interface ListAuditEventsInput {
  readonly tokenId?: string | undefined;
  readonly userId?: string | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/** An audit event as the API shows it. */
export interface AuditEventView {
  id: string;
  at: string;
  action: AuditAction;
  accountId: string;
  subjectUserId: string;
  tokenId: string | null;
  tokenName: string | null;
  actor: {
    userId: string | null;
    role: Role | null;
    sourceIp: string | null;
    userAgent: string | null;
  };
  changes: { field: string; from: string | string[] | null; to: string | string[] | null }[];
  details: Record<string, string | number | boolean | null>;
}

/** A user's token access as the API shows it. */
export interface TokenAccessView {
  userId: string;
  accountId: string;
  enabled: boolean;
  updatedAt: string | null;
  updatedBy: string | null;
  /** How many of the user's credentials this call switched (0 on a read or when nothing changed). */
  tokensAffected: number;
}

/** GET /policy: what tokens this deployment lets users create. */
export interface PolicyView {
  tokenPrefix: string;
  expiryPresetsDays: number[];
  defaultExpiryDays: number;
  maxLifetimeDays: number;
  allowNoExpiry: boolean;
  limits: {
    maxActiveTokensPerUser: number;
    maxActiveTokensPerAccount: number;
    maxScopesPerToken: number;
    maxAllowedIpsPerToken: number;
    maxNameLength: number;
    maxDescriptionLength: number;
  };
  scopeCatalogue: string[];
  tokenTypes: {
    name: string;
    description: string;
    allowedScopes: string[];
    requireIpAllowlist: boolean;
    minAllowlistPrefix: { ipv4: number; ipv6: number } | null;
    /** The most a token of the type gets; a token may be given less. */
    rateLimit: RateLimit;
    quota: Quota | null;
  }[];
  defaultTokenType: string;
  revocationWindowSeconds: number;
  /** Tokens that may hold a gateway usage key at once: creating one more is a 409. */
  usageKeyBudget: number;
}
