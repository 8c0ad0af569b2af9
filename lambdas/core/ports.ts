import type { HmacKey } from './hashing.js';
import type { CredentialRecord, Role, TokenRecord } from './model.js';

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
}

export interface TokenRepository {
  /**
   * Writes the token record and its credential atomically, counting it against the owner's and
   * the account's active-token limits. Throws LimitExceededError when either is reached.
   */
  create(token: TokenRecord, limits: ActiveTokenLimits): Promise<void>;
  /** Strongly consistent read by id. */
  get(tokenId: string): Promise<TokenRecord | undefined>;
  /** Newest first. */
  listByOwner(accountId: string, userId: string, page: PageRequest): Promise<Page<TokenRecord>>;
  /** Newest first, every user of the account. */
  listByAccount(accountId: string, page: PageRequest): Promise<Page<TokenRecord>>;
  /**
   * Marks the token and its credential revoked and releases its limit slots, atomically and only
   * if it is still active. Returns the revoked record, or undefined when it was already revoked.
   */
  revoke(tokenId: string, change: TokenRecord['lastChange']): Promise<TokenRecord | undefined>;
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
}

export interface IdentityVerifier {
  /** Throws UnauthorizedError for any JWT that is not valid for this deployment. */
  verify(jwt: string): Promise<VerifiedIdentity>;
}
