import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { invalidCursorError } from '../core/cursor-seal.js';
import type { AuditEvent } from '../core/model.js';
import type { AuditLog, AuditScope, Page, PageRequest } from '../core/ports.js';
import { auditEventToItem, isAuditItem, itemToAuditEvent } from './audit-items.js';
import { decodeKeyCursor, encodeKeyCursor } from './key-cursor.js';
import {
  INDEXES,
  type IndexDefinition,
  PARTITIONS,
  TABLE_KEYS,
  type TableIndexes,
} from './table-definition.js';

// The audit trail on the single table. One token's events are read from the base table, strongly
// consistently, so a change shows in its token's history as soon as the API answered; a user's or
// an account's events come from the byOwner / byAccount indexes (eventually consistent: the only
// way to gather events kept under many token partitions without a scan).

interface DynamoAuditLogOptions {
  readonly auditRetentionDays: number;
  /** The indexes to query: the legacy ones during an upgrade (table-definition.ts). @default INDEXES */
  readonly indexes?: TableIndexes;
}

/** Where one scope's events live: the base table (index undefined) or an index, and the partition. */
interface Source {
  readonly index: IndexDefinition | undefined;
  readonly partition: string;
}

function sourceOf(scope: AuditScope, indexes: TableIndexes): Source {
  switch (scope.kind) {
    case 'token':
      return { index: undefined, partition: PARTITIONS.auditOfToken(scope.tokenId) };
    case 'user':
      return { index: indexes.byOwner, partition: PARTITIONS.auditOfUser(scope.accountId, scope.userId) };
    case 'account':
      return { index: indexes.byAccount, partition: PARTITIONS.auditOfAccount(scope.accountId) };
  }
}

export class DynamoAuditLog implements AuditLog {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: DynamoAuditLogOptions = { auditRetentionDays: 365 },
  ) {}

  async append(event: AuditEvent): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          // Through JSON: no undefined at any depth, whatever the client's marshalling options.
          Item: JSON.parse(
            JSON.stringify(auditEventToItem(event, this.options.auditRetentionDays)),
          ) as Record<string, unknown>,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      // The event is already there (a retried append): its id and time are its key, so it is this one.
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return;
      throw error;
    }
  }

  async list(scope: AuditScope, page: PageRequest): Promise<Page<AuditEvent>> {
    const source = sourceOf(scope, this.options.indexes ?? INDEXES);
    const partitionKey = source.index?.partitionKey ?? TABLE_KEYS.partitionKey;
    const startKey = page.cursor === undefined ? undefined : decodeAuditCursor(page.cursor, scope, source);
    const { Items = [], LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        ...(source.index === undefined ? { ConsistentRead: true } : { IndexName: source.index.indexName }),
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': partitionKey },
        ExpressionAttributeValues: { ':pk': source.partition },
        ScanIndexForward: false,
        Limit: page.limit,
        ExclusiveStartKey: startKey,
      }),
    );
    return {
      items: Items.filter((item) => isAuditItem(item)).map((item) => itemToAuditEvent(item)),
      nextCursor: LastEvaluatedKey === undefined ? undefined : encodeAuditCursor(LastEvaluatedKey),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Cursors: the query's LastEvaluatedKey as base64url JSON, checked on the way back in so that a
// garbage, truncated or foreign cursor (another scope's, another listing's) is a 400, never a
// DynamoDB error and never a read of another partition. The service seals them with an HMAC on top.

/** `<at>#<eventId>`: an ISO time has no `#`, and neither has an event id. */
const AUDIT_SORT_KEY = /^[^#]+#evt_[^#]+$/;

export const encodeAuditCursor = encodeKeyCursor;
const invalidCursor = invalidCursorError;

/** The base-table partitions an event of this scope can be stored under. */
function basePartitionFits(scope: AuditScope, basePartition: string): boolean {
  const tokenPartition = PARTITIONS.auditOfToken('');
  const isTokenPartition =
    basePartition.startsWith(tokenPartition) && basePartition.length > tokenPartition.length;
  switch (scope.kind) {
    case 'token':
      return basePartition === PARTITIONS.auditOfToken(scope.tokenId);
    case 'user':
      return isTokenPartition || basePartition === PARTITIONS.auditOfUser(scope.accountId, scope.userId);
    case 'account': {
      const userPrefix = PARTITIONS.auditOfUser(scope.accountId, '');
      return (
        isTokenPartition || (basePartition.startsWith(userPrefix) && basePartition.length > userPrefix.length)
      );
    }
  }
}

function decodeAuditCursor(cursor: string, scope: AuditScope, source: Source): Record<string, string> {
  const { index, partition } = source;
  const expectedKeys: string[] = [TABLE_KEYS.partitionKey, TABLE_KEYS.sortKey];
  if (index !== undefined) expectedKeys.push(index.partitionKey, index.sortKey);
  const key = decodeKeyCursor(cursor, expectedKeys);
  const sortKey = key[TABLE_KEYS.sortKey] ?? '';
  if (!AUDIT_SORT_KEY.test(sortKey) || !basePartitionFits(scope, key[TABLE_KEYS.partitionKey] ?? '')) {
    throw invalidCursor();
  }
  // An index's sort key is the event's base sort key (audit-items.ts), so the two must agree.
  if (index !== undefined && (key[index.partitionKey] !== partition || key[index.sortKey] !== sortKey)) {
    throw invalidCursor();
  }
  return key;
}
