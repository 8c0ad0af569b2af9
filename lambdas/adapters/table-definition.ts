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

/** Item keys. Every item also carries `entity` so stream consumers can tell them apart. */
export const KEYS = {
  token: (tokenId: string) => ({ pk: `TOKEN#${tokenId}`, sk: 'TOKEN' }),
  credential: (secretHash: string) => ({ pk: `CREDENTIAL#${secretHash}`, sk: 'CREDENTIAL' }),
  userLimit: (accountId: string, userId: string) => ({
    pk: `LIMIT#USER#${accountId}#${userId}`,
    sk: 'LIMIT',
  }),
  accountLimit: (accountId: string) => ({ pk: `LIMIT#ACCOUNT#${accountId}`, sk: 'LIMIT' }),
} as const;

export type EntityKind = 'token' | 'credential' | 'limit';

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
