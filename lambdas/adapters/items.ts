import { z } from 'zod';
import {
  type CredentialRecord,
  type LeakSighting,
  ROLES,
  type TokenListing,
  type TokenRecord,
} from '../core/model.js';
import { QUOTA_PERIODS } from '../core/rate-limits.js';
import { INDEXES, KEYS, PARTITIONS, TOKEN_LISTING_ATTRIBUTES } from './table-definition.js';

// DynamoDB item shapes, mapped to and from the domain records. The repository writes both item
// kinds, the authorizer reads credential items, and stream consumers read token items from
// NewImage/OldImage (after unmarshall): all through these functions.

const epochSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const expiryDay = (iso: string) => iso.slice(0, 10);

const changeSchema = z.object({
  action: z.enum(['created', 'updated', 'rotated', 'revoked']),
  at: z.string(),
  actorUserId: z.string(),
  actorRole: z.enum(ROLES).nullable(),
  sourceIp: z.string().optional(),
  userAgent: z.string().optional(),
  bulk: z.boolean().optional(),
  bulkId: z.string().optional(),
  actorEmail: z.string().optional(),
  leak: z
    .object({
      reportedBy: z.enum(['secret-scanning', 'user']),
      url: z.string().optional(),
      source: z.string().optional(),
    })
    .optional(),
});

const tokenItemSchema = z.object({
  entity: z.literal('token'),
  id: z.string(),
  userId: z.string(),
  accountId: z.string(),
  ownerEmail: z.string().optional(),
  name: z.string(),
  description: z.string(),
  scopes: z.array(z.string()),
  type: z.string(),
  allowedIps: z.array(z.string()),
  hint: z.string(),
  secretHash: z.string(),
  keyVersion: z.string(),
  state: z.enum(['active', 'revoked']),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  rotatedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  createdBy: z.string(),
  lastChange: changeSchema,
  // Items written before these fields existed read as version 1 with no previous secret.
  version: z.number().int().min(1).default(1),
  previousSecretHash: z.string().nullable().default(null),
  previousSecretNotAfter: z.string().nullable().default(null),
  // Items written before per-token limits existed have none: the type's apply.
  limits: z
    .object({
      rateLimit: z.object({ requestsPerSecond: z.number(), burst: z.number() }).nullable(),
      quota: z.object({ limit: z.number(), period: z.enum(QUOTA_PERIODS) }).nullable(),
    })
    .nullable()
    .default(null),
});

type TokenItem = Record<string, unknown> & { entity: 'token' };

export function tokenToItem(token: TokenRecord): TokenItem {
  const sortKey = `${token.createdAt}#${token.id}`;
  return {
    ...KEYS.token(token.id),
    entity: 'token',
    ...token,
    scopes: [...token.scopes],
    allowedIps: [...token.allowedIps],
    lastChange: { ...token.lastChange },
    [INDEXES.byOwner.partitionKey]: PARTITIONS.tokensOfOwner(token.accountId, token.userId),
    [INDEXES.byOwner.sortKey]: sortKey,
    [INDEXES.byAccount.partitionKey]: PARTITIONS.tokensOfAccount(token.accountId),
    [INDEXES.byAccount.sortKey]: sortKey,
    ...(token.expiresAt === null
      ? {}
      : {
          [INDEXES.byExpiryDay.partitionKey]: PARTITIONS.tokensExpiringOn(expiryDay(token.expiresAt)),
          [INDEXES.byExpiryDay.sortKey]: `${token.expiresAt}#${token.id}`,
          ttl: epochSeconds(token.expiresAt),
        }),
  };
}

/** Throws on an item that is not a token item; use isTokenItem first on mixed input (streams). */
export function itemToToken(item: Record<string, unknown>): TokenRecord {
  const parsed = tokenItemSchema.parse(item);
  const { entity: _entity, ...token } = parsed;
  return {
    ...token,
    ownerEmail: token.ownerEmail,
    lastChange: {
      action: token.lastChange.action,
      at: token.lastChange.at,
      actorUserId: token.lastChange.actorUserId,
      actorRole: token.lastChange.actorRole,
      sourceIp: token.lastChange.sourceIp,
      userAgent: token.lastChange.userAgent,
      ...(token.lastChange.bulk === undefined ? {} : { bulk: token.lastChange.bulk }),
      ...(token.lastChange.bulkId === undefined ? {} : { bulkId: token.lastChange.bulkId }),
      ...(token.lastChange.actorEmail === undefined ? {} : { actorEmail: token.lastChange.actorEmail }),
      ...(token.lastChange.leak === undefined ? {} : { leak: leakOf(token.lastChange.leak) }),
    },
  };
}

function leakOf(leak: z.output<typeof changeSchema>['leak'] & object): LeakSighting {
  return {
    reportedBy: leak.reportedBy,
    ...(leak.url === undefined ? {} : { url: leak.url }),
    ...(leak.source === undefined ? {} : { source: leak.source }),
  };
}

type TokenListingAttribute = (typeof TOKEN_LISTING_ATTRIBUTES)[number];

/** A token item as the listing indexes hold it: only what their projection copies. */
const tokenListingItemSchema = tokenItemSchema.pick(
  Object.fromEntries(TOKEN_LISTING_ATTRIBUTES.map((name) => [name, true])) as {
    readonly [K in TokenListingAttribute]: true;
  },
);

/** A token as a listing shows it, from an index item (or a whole token item). */
export function itemToTokenListing(item: Record<string, unknown>): TokenListing {
  const { entity: _entity, ...listing } = tokenListingItemSchema.parse(item);
  return listing;
}

export function isTokenItem(item: Record<string, unknown> | undefined): boolean {
  return item?.entity === 'token';
}

export const credentialItemSchema = z.object({
  entity: z.literal('credential'),
  secretHash: z.string(),
  tokenId: z.string(),
  userId: z.string(),
  accountId: z.string(),
  scopes: z.array(z.string()),
  type: z.string(),
  allowedIps: z.array(z.string()),
  state: z.enum(['active', 'revoked']),
  expiresAtMs: z.number().nullable(),
  notAfterMs: z.number().nullable(),
  keyVersion: z.string(),
  disabled: z.boolean().default(false),
  accessGeneration: z.number().int().min(0).default(0),
  // The token's own limits, as on the token item (strict mode of HTTP APIs); absent before: null.
  limits: tokenItemSchema.shape.limits,
});

/**
 * A credential's TTL (epoch seconds): when it can never verify again, the earlier of expiry and
 * notAfter; undefined when neither is set. The authorizer checks both times itself regardless.
 */
export function credentialTtl(expiresAtMs: number | null, notAfterMs: number | null): number | undefined {
  const endsAtMs = [expiresAtMs, notAfterMs].filter((ms): ms is number => ms !== null);
  return endsAtMs.length === 0 ? undefined : Math.floor(Math.min(...endsAtMs) / 1000);
}

export function credentialToItem(credential: CredentialRecord): Record<string, unknown> {
  const ttl = credentialTtl(credential.expiresAtMs, credential.notAfterMs);
  return {
    ...KEYS.credential(credential.secretHash),
    entity: 'credential',
    ...credential,
    scopes: [...credential.scopes],
    allowedIps: [...credential.allowedIps],
    ...(ttl === undefined ? {} : { ttl }),
  };
}

export function itemToCredential(item: Record<string, unknown>): CredentialRecord {
  const { entity: _entity, ...credential } = credentialItemSchema.parse(item);
  return credential;
}

/**
 * The credential snapshot that goes with a token record (same transaction). `access` is the
 * owner's token access when the credential is written (create and rotate happen only while enabled).
 */
export function credentialFor(
  token: TokenRecord,
  notAfterMs: number | null = null,
  access: { readonly disabled: boolean; readonly accessGeneration: number } = {
    disabled: false,
    accessGeneration: 0,
  },
): CredentialRecord {
  return {
    secretHash: token.secretHash,
    tokenId: token.id,
    userId: token.userId,
    accountId: token.accountId,
    scopes: token.scopes,
    type: token.type,
    allowedIps: token.allowedIps,
    state: token.state,
    expiresAtMs: token.expiresAt === null ? null : Date.parse(token.expiresAt),
    notAfterMs,
    keyVersion: token.keyVersion,
    disabled: access.disabled,
    accessGeneration: access.accessGeneration,
    limits: token.limits,
  };
}

// ---------------------------------------------------------------------------------------------
// Limit slots: one per token that counts against the active-token limits. The counters on the
// limit items always equal the number of slot items, because every increment is written with a
// slot Put and every decrement with a conditional slot Delete, in one transaction. The slot carries
// what the `token.expired` audit event needs once the token item itself is gone (TTL).

export interface SlotRecord {
  readonly tokenId: string;
  readonly userId: string;
  readonly accountId: string;
  readonly tokenName: string;
  readonly expiresAt: string | null;
}

const slotItemSchema = z.object({
  entity: z.literal('slot'),
  tokenId: z.string(),
  userId: z.string(),
  accountId: z.string(),
  tokenName: z.string(),
  expiresAt: z.string().nullable(),
});

/** Sorts a never-expiring slot after every dated one, so "expired before now" is a key range. */
export function slotSortKey(expiresAt: string | null, tokenId: string): string {
  return `${expiresAt ?? '9999'}#${tokenId}`;
}

export function slotFor(token: TokenRecord): SlotRecord {
  return {
    tokenId: token.id,
    userId: token.userId,
    accountId: token.accountId,
    tokenName: token.name,
    expiresAt: token.expiresAt,
  };
}

export function slotToItem(slot: SlotRecord): Record<string, unknown> {
  return {
    ...KEYS.slot(slot.accountId, slot.userId, slot.tokenId),
    entity: 'slot',
    ...slot,
    [INDEXES.byAccount.partitionKey]: PARTITIONS.slotsOfAccount(slot.accountId),
    [INDEXES.byAccount.sortKey]: slotSortKey(slot.expiresAt, slot.tokenId),
  };
}

export function isSlotItem(item: Record<string, unknown> | undefined): boolean {
  return item?.entity === 'slot';
}

export function itemToSlot(item: Record<string, unknown>): SlotRecord {
  const { entity: _entity, ...slot } = slotItemSchema.parse(item);
  return slot;
}
