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
  readonly actorUserId: string;
  readonly actorRole: Role;
  readonly sourceIp: string | undefined;
  readonly userAgent: string | undefined;
}

export interface TokenRecord {
  readonly id: string;
  readonly userId: string;
  readonly accountId: string;
  /** The owner's email when the token was created: where notifications go. */
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
}

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
}

export function statusOf(token: Pick<TokenRecord, 'state' | 'expiresAt'>, now: Date): TokenStatus {
  if (token.state === 'revoked') return 'revoked';
  if (token.expiresAt !== null && Date.parse(token.expiresAt) <= now.getTime()) return 'expired';
  return 'active';
}

/** A token as the API shows it (DESIGN.md "HTTP contract"). */
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

export function toTokenView(token: TokenRecord, now: Date): TokenView {
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
