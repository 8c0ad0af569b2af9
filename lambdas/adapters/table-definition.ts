import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

// The one table, defined once: the CDK construct (lib/) and the local stack / test setup both build
// from this, so the deployed table and the emulated one cannot drift.

export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;
export const TTL_ATTRIBUTE = 'ttl';

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: string;
  readonly sortKey: string;
}

/** Every GSI the service will need, declared up front: CloudFormation adds one GSI per update. */
export const INDEXES = {
  /** A user's tokens, newest first: `USER#<accountId>#<userId>` / `<createdAt>#<tokenId>`. */
  byOwner: { indexName: 'byOwner', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  /** An account's tokens, newest first: `ACCOUNT#<accountId>` / `<createdAt>#<tokenId>`. */
  byAccount: { indexName: 'byAccount', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
  /** Tokens by the UTC day they expire: `EXPIRES#<yyyy-mm-dd>` / `<expiresAt>#<tokenId>` (reminders). */
  byExpiryDay: { indexName: 'byExpiryDay', partitionKey: 'gsi3pk', sortKey: 'gsi3sk' },
} as const satisfies Record<string, IndexDefinition>;

const TOKEN_PREFIX = 'TOKEN#';

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

export function createTableInput(tableName: string): CreateTableCommandInput {
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
    GlobalSecondaryIndexes: Object.values(INDEXES).map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  };
}
