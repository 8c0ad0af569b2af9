import type { QuotaUsage, TokenLimitsOverride } from './rate-limits.js';
import type { TokenLimitsView } from './token-limits.js';

// The domain's records. Adapters map them to and from DynamoDB items; the HTTP layer maps
// TokenRecord to the contract's TokenView. No record ever holds a token's plaintext.

export const ROLES = ['admin', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling the management API, from a verified JWT plus the request's origin. */
export interface Caller {
  readonly userId: string;
  readonly accountId: string;
  readonly role: Role;
  readonly email: string | undefined;
  readonly sourceIp: string | undefined;
  readonly userAgent: string | undefined;
}

export type TokenState = 'active' | 'revoked';
export type TokenStatus = 'active' | 'revoked' | 'expired';

/**
 * The last change made to a token, kept on the record so that the stream consumer (emails, audit)
 * can say who did what from where without another read. Never contains a secret.
 */
export interface TokenChange {
  readonly action: 'created' | 'updated' | 'rotated' | 'revoked';
  readonly at: string;
  /** The user who made it; `secret-scanning` (SECRET_SCANNING_ACTOR) for GitHub's leak reports. */
  readonly actorUserId: string;
  /** null: not a user of the account (secret scanning). */
  readonly actorRole: Role | null;
  readonly sourceIp: string | undefined;
  readonly userAgent: string | undefined;
  /** Revoked as part of "revoke all" (DELETE /tokens): the email says so. */
  readonly bulk?: boolean;
  /**
   * Which "revoke all" (the id of its `tokens.revoked-all` audit event): the notifier sends one
   * summary email per owner for all of them instead of one email per token.
   */
  readonly bulkId?: string;
  /**
   * The actor's email, from their verified JWT. When the actor is the token's owner, the notifier
   * takes it as the owner's current address (docs/security.md, "Emails").
   */
  readonly actorEmail?: string;
  /**
   * Revoked because its secret was found in public (docs/leaks.md): who reported it and where. The
   * notifier's email says so. Never the secret.
   */
  readonly leak?: LeakSighting;
}

/** Where a leaked secret was seen, as a report said (GitHub secret scanning, or POST /leaks). */
export interface LeakSighting {
  /** `secret-scanning`: GitHub's partner alert; `user`: a signed-in user's report (POST /leaks). */
  readonly reportedBy: 'secret-scanning' | 'user';
  /** Where it was found (a public URL); absent when the report gave none. */
  readonly url?: string;
  /** Where on that site, as the report said (GitHub: `content`, `commit`, `issue_comment`, ...). */
  readonly source?: string;
}

export interface TokenRecord {
  readonly id: string;
  readonly userId: string;
  readonly accountId: string;
  /**
   * The owner's email when the token was created; notifications go to the owner's current address
   * (refreshed from their management writes), this one only until there is one.
   */
  readonly ownerEmail: string | undefined;
  readonly name: string;
  readonly description: string;
  readonly scopes: readonly string[];
  readonly type: string;
  readonly allowedIps: readonly string[];
  readonly hint: string;
  /** HMAC of the current secret: the key of the credential item the authorizer reads. */
  readonly secretHash: string;
  readonly keyVersion: string;
  readonly state: TokenState;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly lastUsedAt: string | null;
  readonly rotatedAt: string | null;
  readonly revokedAt: string | null;
  readonly createdBy: string;
  readonly lastChange: TokenChange;
  /**
   * Optimistic-concurrency version: 1 at creation, +1 on every change (edit, rotation, revocation).
   * Every write is conditional on the version it read, so concurrent changes cannot interleave.
   */
  readonly version: number;
  /** The secret before the last rotation, while its grace period lasts (its credential item's key). */
  readonly previousSecretHash: string | null;
  /** When the previous secret stops (ISO 8601); null when there is none. */
  readonly previousSecretNotAfter: string | null;
  /**
   * The token's own rate limit and quota, lower than its type's (docs/rate-limits.md); null = its
   * type's. Kept as an override, not a copy, so a token follows its type when the type changes.
   */
  readonly limits: TokenLimitsOverride | null;
}

/**
 * What a token listing (GET /tokens) has of each token: TokenView's fields (status from state and
 * expiresAt). The listing indexes copy these and nothing more of a token item (no secret hash, no
 * owner address).
 */
export type TokenListing = Pick<
  TokenRecord,
  | 'id'
  | 'userId'
  | 'accountId'
  | 'name'
  | 'description'
  | 'scopes'
  | 'type'
  | 'allowedIps'
  | 'hint'
  | 'state'
  | 'createdAt'
  | 'expiresAt'
  | 'lastUsedAt'
  | 'rotatedAt'
  | 'createdBy'
>;

/**
 * What the authorizer reads with one consistent GetItem keyed by the secret's HMAC: a snapshot of
 * everything a gateway decision needs, written in the same transaction as the token record.
 */
export interface CredentialRecord {
  readonly secretHash: string;
  readonly tokenId: string;
  readonly userId: string;
  readonly accountId: string;
  readonly scopes: readonly string[];
  readonly type: string;
  readonly allowedIps: readonly string[];
  readonly state: TokenState;
  /** Epoch milliseconds; null = never expires (only where the deployment allows it). */
  readonly expiresAtMs: number | null;
  /** Epoch milliseconds after which this secret stops, e.g. the end of a rotation grace period. */
  readonly notAfterMs: number | null;
  readonly keyVersion: string;
  /** The owner's token access is disabled by an admin (PUT /users/{userId}/token-access): DISABLED. */
  readonly disabled: boolean;
  /**
   * The owner's UserAccess.generation this credential's `disabled` was copied from. Fan-out writes
   * are conditional on it growing, so a late disable can never overwrite a newer enable.
   */
  readonly accessGeneration: number;
  /**
   * The token's own lower limits (TokenRecord.limits), for the strict mode of HTTP APIs, which
   * counts in the authorizer (core/rate-window.ts); null or absent (written before): its type's.
   */
  readonly limits?: TokenLimitsOverride | null;
}

/** Whether a user may use and create tokens; an admin switches it (absent item = enabled). */
export interface UserAccess {
  readonly accountId: string;
  readonly userId: string;
  readonly enabled: boolean;
  /** +1 on every switch; 0 for a user never switched. */
  readonly generation: number;
  readonly updatedAt: string | null;
  readonly updatedBy: string | null;
}

// ---------------------------------------------------------------------------------------------
// Audit trail

export const AUDIT_ACTIONS = [
  'token.created',
  'token.updated',
  'token.rotated',
  'token.revoked',
  'tokens.revoked-all',
  'token.expired',
  'user.token-access-disabled',
  'user.token-access-enabled',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Who did it; all null for the system (expiry). */
export interface AuditActor {
  readonly userId: string | null;
  readonly role: Role | null;
  readonly sourceIp: string | null;
  readonly userAgent: string | null;
}

/**
 * One field of a token edit: values are JSON (strings, string arrays, null). Never a secret.
 * `limits`: the token's own limits as compact JSON (`{"rateLimit":…,"quota":…}`), null = the type's.
 */
export interface FieldChange {
  readonly field: 'name' | 'description' | 'scopes' | 'allowedIps' | 'expiresAt' | 'limits';
  readonly from: string | readonly string[] | null;
  readonly to: string | readonly string[] | null;
}

export interface AuditEvent {
  /** `evt_` + 22 base62 characters. */
  readonly id: string;
  readonly at: string;
  readonly action: AuditAction;
  readonly accountId: string;
  /** Whose token (or whose access) it is about: "own" audit events are those with the caller here. */
  readonly subjectUserId: string;
  readonly tokenId: string | null;
  readonly tokenName: string | null;
  readonly actor: AuditActor;
  /** token.updated only: what changed. */
  readonly changes: readonly FieldChange[];
  /** Small facts: gracePeriodSeconds (rotated), revokedCount and target (revoked-all), bulk (revoked). */
  readonly details: Readonly<Record<string, string | number | boolean | null>>;
}

export function statusOf(token: Pick<TokenRecord, 'state' | 'expiresAt'>, now: Date): TokenStatus {
  if (token.state === 'revoked') return 'revoked';
  if (token.expiresAt !== null && Date.parse(token.expiresAt) <= now.getTime()) return 'expired';
  return 'active';
}

/** A token as the API shows it (docs/design.md "HTTP contract"). */
export interface TokenView {
  id: string;
  name: string;
  description: string;
  scopes: string[];
  type: string;
  allowedIps: string[];
  hint: string;
  status: TokenStatus;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  rotatedAt: string | null;
  userId: string;
  accountId: string;
  createdBy: string;
}

/** One token as GET /tokens/{id} (and create, edit, rotate) shows it: its limits and quota usage too. */
export interface TokenDetailView extends TokenView {
  limits: TokenLimitsView | null;
  usage: QuotaUsage | null;
}

export function toTokenView(token: TokenListing, now: Date): TokenView {
  return {
    id: token.id,
    name: token.name,
    description: token.description,
    scopes: [...token.scopes],
    type: token.type,
    allowedIps: [...token.allowedIps],
    hint: token.hint,
    status: statusOf(token, now),
    createdAt: token.createdAt,
    expiresAt: token.expiresAt,
    lastUsedAt: token.lastUsedAt,
    rotatedAt: token.rotatedAt,
    userId: token.userId,
    accountId: token.accountId,
    createdBy: token.createdBy,
  };
}
