import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

// The one table, defined once: the CDK construct (lib/) and the local stack / test setup both build
// from this, so the deployed table and the emulated one cannot drift.

export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;
export const TTL_ATTRIBUTE = 'ttl';

/**
 * What an index copies of each item besides the keys: `INCLUDE` the listed attributes, or only
 * the keys (`KEYS_ONLY`). Never `ALL`: an index holds what its queries read and nothing else
 * (docs/architecture.md, "Indexes and what they copy").
 */
export type IndexProjection =
  | { readonly type: 'INCLUDE'; readonly attributes: readonly string[] }
  | { readonly type: 'KEYS_ONLY' }
  /** The legacy indexes' only (LEGACY_INDEXES). */
  | { readonly type: 'ALL' };

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly projection: IndexProjection;
}

/**
 * What a token listing (GET /tokens) reads of a token item: TokenView's fields (status comes from
 * state and expiresAt). Not the secret's hash, the key version, the owner's address, lastChange,
 * the version or the previous secret: no listing shows them.
 */
export const TOKEN_LISTING_ATTRIBUTES = [
  'entity',
  'id',
  'userId',
  'accountId',
  'name',
  'description',
  'scopes',
  'type',
  'allowedIps',
  'hint',
  'state',
  'createdAt',
  'expiresAt',
  'lastUsedAt',
  'rotatedAt',
  'createdBy',
] as const;

/** What an audit listing (GET /audit-events by user or account) reads of an event: all of it but the TTL. */
const AUDIT_LISTING_ATTRIBUTES = [
  'entity',
  'id',
  'at',
  'action',
  'accountId',
  'subjectUserId',
  'tokenId',
  'tokenName',
  'actor',
  'changes',
  'details',
] as const;

/** What the expiry sweep reads of an account's limit slots (byAccount): the whole slot but its keys. */
const SLOT_LISTING_ATTRIBUTES = [
  'entity',
  'tokenId',
  'userId',
  'accountId',
  'tokenName',
  'expiresAt',
] as const;

const union = (...lists: readonly (readonly string[])[]) => [...new Set(lists.flat())];

/**
 * Every GSI the service reads. The index names carry a `2`: DynamoDB cannot change an existing
 * index's projection, so these replaced the first, ALL-projected indexes (`LEGACY_INDEXES`) under
 * new names, on the same key attributes (DynamoDB fills a new index from the items already there).
 */
export const INDEXES = {
  /**
   * A user's tokens, newest first: `USER#<accountId>#<userId>` / `<createdAt>#<tokenId>`; and the
   * audit events about a user: `AUDIT#USER#<accountId>#<userId>` / `<at>#<eventId>`.
   */
  byOwner: {
    indexName: 'byOwner2',
    partitionKey: 'gsi1pk',
    sortKey: 'gsi1sk',
    projection: { type: 'INCLUDE', attributes: union(TOKEN_LISTING_ATTRIBUTES, AUDIT_LISTING_ATTRIBUTES) },
  },
  /**
   * An account's tokens, newest first: `ACCOUNT#<accountId>` / `<createdAt>#<tokenId>`; its audit
   * events: `AUDIT#ACCOUNT#<accountId>` / `<at>#<eventId>`; its limit slots:
   * `SLOTS#<accountId>` / `<expiresAt or 9999>#<tokenId>`.
   */
  byAccount: {
    indexName: 'byAccount2',
    partitionKey: 'gsi2pk',
    sortKey: 'gsi2sk',
    projection: {
      type: 'INCLUDE',
      attributes: union(TOKEN_LISTING_ATTRIBUTES, AUDIT_LISTING_ATTRIBUTES, SLOT_LISTING_ATTRIBUTES),
    },
  },
  /**
   * Tokens by the UTC day they expire: `EXPIRES#<yyyy-mm-dd>` / `<expiresAt>#<tokenId>`. Keys only:
   * the reminder job takes the token ids from it and reads the tokens again, strongly consistently.
   */
  byExpiryDay: {
    indexName: 'byExpiryDay2',
    partitionKey: 'gsi3pk',
    sortKey: 'gsi3sk',
    projection: { type: 'KEYS_ONLY' },
  },
} as const satisfies Record<string, IndexDefinition>;

/** The indexes the functions query: the current ones, or (during an upgrade) the legacy ones. */
export type TableIndexes = { readonly [K in keyof typeof INDEXES]: IndexDefinition };

const ALL: IndexProjection = { type: 'ALL' };

/** The first indexes, on the same keys, copying every attribute: what a stack deployed before has. */
export const LEGACY_INDEXES: TableIndexes = {
  byOwner: { ...INDEXES.byOwner, indexName: 'byOwner', projection: ALL },
  byAccount: { ...INDEXES.byAccount, indexName: 'byAccount', projection: ALL },
  byExpiryDay: { ...INDEXES.byExpiryDay, indexName: 'byExpiryDay', projection: ALL },
};

/** DynamoDB's (and CloudFormation's) form of a projection. */
export function projectionOf(projection: IndexProjection): {
  ProjectionType: 'ALL' | 'INCLUDE' | 'KEYS_ONLY';
  NonKeyAttributes?: string[];
} {
  switch (projection.type) {
    case 'INCLUDE':
      return { ProjectionType: 'INCLUDE', NonKeyAttributes: [...projection.attributes] };
    case 'KEYS_ONLY':
      return { ProjectionType: 'KEYS_ONLY' };
    case 'ALL':
      return { ProjectionType: 'ALL' };
  }
}

// ---------------------------------------------------------------------------------------------
// Upgrading a table that has the legacy indexes (docs/architecture.md, "Indexes and what they
// copy"). CloudFormation adds or removes one GSI per stack update (DynamoDB one per UpdateTable),
// and a new index can be queried only once DynamoDB has filled it from the table's items. So the
// upgrade is a deploy per step (the `indexUpgradeStep` setting, 1 to 6, then unset), each changing
// one index or the functions' reads:
//   1-3  add byOwner2, byAccount2, byExpiryDay2; the functions still read the legacy indexes
//   4    the functions read the new indexes (deploy once all three are ACTIVE)
//   5-6  remove byOwner, byAccount; unset: remove byExpiryDay (the layout of a new stack)

export const INDEX_UPGRADE_STEPS = 6;

/** The GSIs a table has at an upgrade step (undefined: done, or a new stack), and which ones are read. */
export interface IndexLayout {
  readonly indexes: readonly IndexDefinition[];
  readonly reads: 'legacy' | 'current';
}

export function indexLayout(step: number | undefined): IndexLayout {
  const current = Object.values(INDEXES);
  if (step === undefined) return { indexes: current, reads: 'current' };
  if (!Number.isInteger(step) || step < 1 || step > INDEX_UPGRADE_STEPS) {
    throw new Error(`indexUpgradeStep must be a whole number from 1 to ${INDEX_UPGRADE_STEPS}, got ${step}`);
  }
  const legacy = Object.values(LEGACY_INDEXES);
  if (step <= 3) return { indexes: [...legacy, ...current.slice(0, step)], reads: 'legacy' };
  return { indexes: [...legacy.slice(step - 4), ...current], reads: 'current' };
}

/** The names one index has at an upgrade step: its legacy and/or its current version. */
export function indexNamesAt(key: keyof typeof INDEXES, step: number | undefined): string[] {
  const present = new Set(indexLayout(step).indexes.map((index) => index.indexName));
  return [LEGACY_INDEXES[key].indexName, INDEXES[key].indexName].filter((name) => present.has(name));
}

/** Which indexes the functions read, from the value of their TABLE_INDEXES variable (unset: current). */
export function tableIndexesOf(value: string | undefined): TableIndexes {
  if (value === undefined || value === '' || value === 'current') return INDEXES;
  if (value === 'legacy') return LEGACY_INDEXES;
  throw new Error(`TABLE_INDEXES must be "legacy" or "current", got "${value}"`);
}

/** A GSI in CreateTable's (and CloudFormation's) form. */
export function globalSecondaryIndexOf(index: IndexDefinition) {
  return {
    IndexName: index.indexName,
    KeySchema: [
      { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
    ],
    Projection: projectionOf(index.projection),
  };
}

const TOKEN_PREFIX = 'TOKEN#';
/** The partition prefix of rate counters: the token authorizer may update these items and no others but token items' lastUsedAt. */
export const RATE_COUNTER_PREFIX = 'RATE#';

/** The token id of a token item's partition key; undefined for any other key. */
export function tokenIdOfKey(pk: string): string | undefined {
  return pk.startsWith(TOKEN_PREFIX) && pk.length > TOKEN_PREFIX.length
    ? pk.slice(TOKEN_PREFIX.length)
    : undefined;
}

/** Item keys. Every item also carries `entity` so stream consumers can tell them apart. */
export const KEYS = {
  token: (tokenId: string) => ({ pk: `${TOKEN_PREFIX}${tokenId}`, sk: 'TOKEN' }),
  credential: (secretHash: string) => ({ pk: `CREDENTIAL#${secretHash}`, sk: 'CREDENTIAL' }),
  userLimit: (accountId: string, userId: string) => ({
    pk: `LIMIT#USER#${accountId}#${userId}`,
    sk: 'LIMIT',
  }),
  accountLimit: (accountId: string) => ({ pk: `LIMIT#ACCOUNT#${accountId}`, sk: 'LIMIT' }),
  /**
   * The deployment's active tokens, each holding a gateway usage key (README "Rate limits and
   * quotas"): counted and released with the limit slots, exactly like the per-account counter, and
   * refused at usageKeyBudget.
   */
  usageKeyLimit: () => ({ pk: 'LIMIT#USAGE_KEYS', sk: 'LIMIT' }),
  /** How many override limit classes are registered (refused at limitClassBudget). */
  limitClassLimit: () => ({ pk: 'LIMIT#LIMIT_CLASSES', sk: 'LIMIT' }),
  /**
   * A registered override limit class (rate-limits.ts limitClassOf): put once, with the increment
   * of limitClassLimit, never deleted (its usage plan stays for good).
   */
  limitClass: (limitClass: string) => ({ pk: `LIMIT_CLASS#${limitClass}`, sk: 'LIMIT_CLASS' }),
  /**
   * A token's limit slot: exists exactly while the token counts against the limits (created with
   * it, deleted with the counter decrements on revoke or on release after expiry). A user's slots
   * share a partition, so a strongly consistent Query lists the user's live tokens (access
   * fan-out, expiry sweep); the byAccount index lists an account's (`SLOTS#<accountId>` /
   * `<expiresAt or 9999>#<tokenId>`). No TTL: slots are released, never expired away.
   */
  slot: (accountId: string, userId: string, tokenId: string) => ({
    pk: `SLOTS#${accountId}#${userId}`,
    sk: `SLOT#${tokenId}`,
  }),
  /** A user's token access (admin switch); absent = enabled. */
  userAccess: (accountId: string, userId: string) => ({ pk: `ACCESS#${accountId}#${userId}`, sk: 'ACCESS' }),
  /**
   * Audit events: partition by token (`AUDIT#TOKEN#<tokenId>`) or, for events about no token, by
   * user (`AUDIT#USER#<accountId>#<userId>`); sort `<at>#<eventId>`. byOwner index:
   * `AUDIT#USER#<accountId>#<subjectUserId>`, byAccount index: `AUDIT#ACCOUNT#<accountId>`, same
   * sort key. TTL = at + auditRetentionDays.
   */
  audit: (partition: string, at: string, eventId: string) => ({ pk: partition, sk: `${at}#${eventId}` }),
  /** A revoke-all job (lambdas/core/revoke-all-job.ts); TTL removes it days after it started. */
  revokeAllJob: (jobId: string) => ({ pk: `JOB#${jobId}`, sk: 'REVOKE_ALL' }),
  /**
   * A strict-mode rate counter of an HTTP API (lambdas/core/rate-window.ts): one item per token and
   * window (`r<seconds>-<index>` or `q<period>-<first day>`), its own partition so that a busy
   * token's counters do not share one partition's write capacity. TTL removes it after the window.
   */
  rateCounter: (tokenId: string, window: string) => ({
    pk: `${RATE_COUNTER_PREFIX}${tokenId}#${window}`,
    sk: 'COUNTER',
  }),
} as const;

/** Partitions of the table and its indexes that are queried, built here only. */
export const PARTITIONS = {
  /** byOwner: a user's tokens. */
  tokensOfOwner: (accountId: string, userId: string) => `USER#${accountId}#${userId}`,
  /** byAccount: an account's tokens. */
  tokensOfAccount: (accountId: string) => `ACCOUNT#${accountId}`,
  /** byExpiryDay: the tokens that expire on a UTC day (`yyyy-mm-dd`). */
  tokensExpiringOn: (day: string) => `EXPIRES#${day}`,
  slotsOfAccount: (accountId: string) => `SLOTS#${accountId}`,
  auditOfToken: (tokenId: string) => `AUDIT#TOKEN#${tokenId}`,
  auditOfUser: (accountId: string, userId: string) => `AUDIT#USER#${accountId}#${userId}`,
  auditOfAccount: (accountId: string) => `AUDIT#ACCOUNT#${accountId}`,
} as const;

/** The table as CreateTable takes it; at an upgrade step, with that step's indexes. */
export function createTableInput(tableName: string, step?: number): CreateTableCommandInput {
  const keyAttributes = [
    TABLE_KEYS.partitionKey,
    TABLE_KEYS.sortKey,
    ...Object.values(INDEXES).flatMap((index) => [index.partitionKey, index.sortKey]),
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keyAttributes.map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: indexLayout(step).indexes.map(globalSecondaryIndexOf),
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  };
}
