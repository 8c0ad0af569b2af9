import type { HmacKey } from './hashing.js';
import type {
  AuditEvent,
  CredentialRecord,
  Role,
  TokenChange,
  TokenListing,
  TokenRecord,
  UserAccess,
} from './model.js';
import type { QuotaUsage, TokenLimits } from './rate-limits.js';

// Ports: what the domain needs from the outside world. Adapters in lambdas/adapters implement them
// with AWS SDK clients passed to their constructors; tests implement them in memory.

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface KeySource {
  /** The HMAC key in plaintext; implementations fetch or decrypt it once and keep it in memory. */
  getKey(): Promise<HmacKey>;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Opaque; absent on the last page. */
  readonly nextCursor: string | undefined;
}

export interface PageRequest {
  readonly limit: number;
  readonly cursor: string | undefined;
}

export interface ActiveTokenLimits {
  readonly perUser: number;
  readonly perAccount: number;
  /**
   * Active tokens of the whole deployment, each holding a gateway usage key (usageKeyBudget,
   * counted and released with the same limit slot as the per-user and per-account limits).
   */
  readonly usageKeys: number;
}

export interface TokenRepository {
  /**
   * Writes the token record, its credential, its limit slot and its audit event atomically,
   * counting it against the owner's and the account's active-token limits. Throws
   * LimitExceededError when either is reached, TokenAccessDisabledError (403) when the owner's token
   * access is disabled. The deployment's usage-key count goes with them (LimitExceededError at
   * `limits.usageKeys`).
   */
  create(token: TokenRecord, limits: ActiveTokenLimits, audit: AuditEvent): Promise<void>;
  /**
   * Registers an override limit class (rate-limits.ts limitClassOf) if it is not yet registered,
   * counting it against `budget`: LimitExceededError when it is new and `budget` classes are
   * registered already. Registered classes are never unregistered (their usage plans stay).
   */
  registerLimitClass(limitClass: string, budget: number): Promise<void>;
  /** Strongly consistent read by id. */
  get(tokenId: string): Promise<TokenRecord | undefined>;
  /** Newest first. */
  listByOwner(accountId: string, userId: string, page: PageRequest): Promise<Page<TokenListing>>;
  /** Newest first, every user of the account. */
  listByAccount(accountId: string, page: PageRequest): Promise<Page<TokenListing>>;
  /**
   * Marks the token and its credentials (current and, during a grace period, previous) revoked,
   * releases its limit slot (if it still holds one) and writes the audit event built from the
   * revoked record, atomically and only if it is still active. Returns the revoked record, or
   * undefined when it was already revoked (nothing written: revoking is idempotent) or had expired
   * by `change.at` (nothing written: an expired token is never revoked). `known` is the record the
   * caller has just read consistently: it saves the first re-read.
   */
  revoke(
    tokenId: string,
    change: TokenChange,
    audit: (revoked: TokenRecord) => AuditEvent,
    known?: TokenRecord,
  ): Promise<TokenRecord | undefined>;
  /**
   * An edit: `next` replaces `current` (same id and secret, version + 1) and the credential
   * snapshots (current and previous secret) take its scopes, allowlist and expiry, keeping their
   * `disabled` flag; plus the audit event. Conditional on `current.version`, state active and the
   * owner's access enabled: ConflictError (409) when the token changed or was revoked meanwhile,
   * TokenAccessDisabledError (403) when the owner's token access is disabled.
   */
  update(current: TokenRecord, next: TokenRecord, audit: AuditEvent): Promise<void>;
  /**
   * A rotation: `next` (new secretHash/hint/keyVersion, previousSecretHash = current.secretHash,
   * previousSecretNotAfter = end of grace, version + 1) replaces `current`; a new credential item
   * for the new secret; the old secret's credential gets notAfterMs (and TTL) = end of grace; an
   * older previous secret still in grace ends now. Conditional on `current.version`, state active
   * and the owner's access enabled: ConflictError when another change won, TokenAccessDisabledError
   * when access is disabled.
   */
  rotate(current: TokenRecord, next: TokenRecord, audit: AuditEvent): Promise<void>;
  /**
   * Ids of the tokens that hold a limit slot (active, not yet released after expiry), read strongly
   * consistently: for a user from the base table, for a whole account (`userId` undefined) from
   * an index (eventually consistent, fine for revoke-all: repeating it is safe).
   */
  listSlotHolders(accountId: string, userId: string | undefined): Promise<string[]>;
  /**
   * Releases the slots of tokens of the user (or account) that expired before `now`, each in its
   * own conditional transaction with a `token.expired` audit event (written once, whoever
   * releases first). Returns how many were released. Create calls it when a limit is hit.
   */
  releaseExpiredSlots(accountId: string, userId: string | undefined, now: Date): Promise<number>;
  /**
   * The stream's TTL deletion of a token item: releases its slot if it still holds one, with the
   * `token.expired` audit event. Idempotent; returns whether this call released it.
   */
  releaseSlotOfDeletedToken(token: TokenRecord, audit: AuditEvent): Promise<boolean>;
}

export interface UserAccessRepository {
  /** Strongly consistent; a user never switched is enabled with generation 0. */
  get(accountId: string, userId: string): Promise<UserAccess>;
  /**
   * Switches access (generation + 1) and writes the audit event in one transaction; when it is
   * already in that state, changes nothing and writes nothing. Returns the resulting state and
   * whether it changed.
   */
  set(
    accountId: string,
    userId: string,
    enabled: boolean,
    by: { readonly at: string; readonly actorUserId: string },
    audit: AuditEvent,
  ): Promise<{ readonly access: UserAccess; readonly changed: boolean }>;
  /**
   * Copies `access.enabled` onto the credential items (current and previous secret) of the given
   * tokens, each write conditional on `accessGeneration` growing. Returns how many credentials
   * were written.
   */
  applyToCredentials(access: UserAccess, tokenIds: readonly string[]): Promise<number>;
}

/** What an audit listing is about. */
export type AuditScope =
  | { readonly kind: 'token'; readonly tokenId: string }
  | { readonly kind: 'user'; readonly accountId: string; readonly userId: string }
  | { readonly kind: 'account'; readonly accountId: string };

export interface AuditLog {
  /** Idempotent by event id (a retried append writes nothing new). */
  append(event: AuditEvent): Promise<void>;
  /** Newest first. The caller checks visibility of what comes back (token scope: any account). */
  list(scope: AuditScope, page: PageRequest): Promise<Page<AuditEvent>>;
}

export interface LastUsedRecorder {
  /**
   * Sets the token's lastUsedAt to `at` unless it is already at or after `notBefore`: one
   * conditional UpdateItem. Returns whether it wrote. Never throws for a lost race.
   */
  recordUse(tokenId: string, at: Date, notBefore: Date): Promise<boolean>;
}

export interface CredentialReader {
  /** Exactly one strongly consistent read, keyed by the secret's HMAC. */
  findByHash(secretHash: string): Promise<CredentialRecord | undefined>;
}

/** Verified claims of a management API caller's JWT. */
export interface VerifiedIdentity {
  readonly userId: string;
  readonly accountId: string;
  readonly role: Role;
  readonly email: string | undefined;
  /** The JWT's `iat` (seconds since the epoch), when it has one. */
  readonly issuedAt?: number;
}

export interface IdentityVerifier {
  /** Throws UnauthorizedError for any JWT that is not valid for this deployment. */
  verify(jwt: string): Promise<VerifiedIdentity>;
}

// ---------------------------------------------------------------------------------------------
// Rate limits (docs/rate-limits.md)

/**
 * The gateway's usage plans and API keys, as the usage-key stream consumer manages them: API
 * Gateway deployed (lambdas/adapters/api-gateway-usage-plans.ts), the local gateway's emulation
 * locally. Every method is idempotent: stream records are delivered at least once, and two
 * consumers may race on one token.
 */
export interface UsagePlanGateway {
  /**
   * The id of the usage plan of this limit class (rate-limits.ts limitClassOf): a type's plan exists
   * from deployment; an override class's plan is created on first use with these limits, on the
   * same API stages as the types' plans.
   */
  ensurePlan(limitClass: string, limits: TokenLimits): Promise<string>;
  /**
   * Makes sure the API key with this value exists, enabled, and belongs to this plan and to no
   * other plan of this deployment (a token's limits changed: it moves).
   */
  assignKey(keyValue: string, tokenId: string, planId: string): Promise<void>;
  /** Deletes the API key with this value if it exists (its plan memberships go with it). */
  deleteKey(keyValue: string): Promise<void>;
}

/** How much of its quota a token's usage key has used in the current period. */
export interface UsageReader {
  /** Undefined when the token has no quota or no key yet. */
  quotaUsage(keyValue: string, limits: TokenLimits, now: Date): Promise<QuotaUsage | undefined>;
}
