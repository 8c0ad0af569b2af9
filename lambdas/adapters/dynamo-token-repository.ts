import { setTimeout as sleep } from 'node:timers/promises';
import type { CancellationReason } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { LimitExceededError, ValidationError } from '../core/errors.js';
import type { TokenChange, TokenRecord } from '../core/model.js';
import type { ActiveTokenLimits, Page, PageRequest, TokenRepository } from '../core/ports.js';
import { credentialFor, credentialToItem, isTokenItem, itemToToken, tokenToItem } from './items.js';
import { INDEXES, type IndexDefinition, KEYS, TABLE_KEYS } from './table-definition.js';

// TokenRepository on the single table. Creation and revocation are one TransactWriteItems each
// (token item, credential item, the owner's and the account's active-token counters), so the limits
// hold under concurrency and the authorizer never sees a credential without its token.
//
// A transaction that is cancelled only because another transaction touched the same items at the
// same moment (`TransactionConflict`, e.g. two users of one account creating tokens at once: both
// update the account counter) is retried a few times with jitter before the error is passed on.

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

const MAX_ATTEMPTS = 3;
const CREATE = { token: 0, credential: 1, userLimit: 2, accountLimit: 3 } as const;
const REVOKE = { token: 0, credential: 1 } as const;

export class DynamoTokenRepository implements TokenRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(token: TokenRecord, limits: ActiveTokenLimits): Promise<void> {
    const transactItems: TransactItem[] = [
      {
        Put: {
          TableName: this.tableName,
          Item: dropUndefined(tokenToItem(token)),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Put: {
          TableName: this.tableName,
          Item: dropUndefined(credentialToItem(credentialFor(token))),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      this.counterIncrement(KEYS.userLimit(token.accountId, token.userId), limits.perUser),
      this.counterIncrement(KEYS.accountLimit(token.accountId), limits.perAccount),
    ];
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: transactItems,
            // Makes the SDK's own retries of this attempt idempotent (a retried success is not a failure).
            ClientRequestToken: `${token.id}-${attempt}`,
          }),
        );
        return;
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (reasons === undefined) throw error;
        if (failedCondition(reasons, CREATE.userLimit)) {
          throw new LimitExceededError(
            `You have reached the limit of ${limits.perUser} active tokens; revoke one before creating another`,
          );
        }
        if (failedCondition(reasons, CREATE.accountLimit)) {
          throw new LimitExceededError(
            `Your account has reached its limit of ${limits.perAccount} active tokens`,
          );
        }
        if (!onlyConflicts(reasons) || attempt >= MAX_ATTEMPTS) throw error;
        await backoff(attempt);
      }
    }
  }

  async get(tokenId: string): Promise<TokenRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: KEYS.token(tokenId), ConsistentRead: true }),
    );
    return Item !== undefined && isTokenItem(Item) ? itemToToken(Item) : undefined;
  }

  listByOwner(accountId: string, userId: string, page: PageRequest): Promise<Page<TokenRecord>> {
    return this.query(INDEXES.byOwner, `USER#${accountId}#${userId}`, page);
  }

  listByAccount(accountId: string, page: PageRequest): Promise<Page<TokenRecord>> {
    return this.query(INDEXES.byAccount, `ACCOUNT#${accountId}`, page);
  }

  async revoke(tokenId: string, change: TokenChange): Promise<TokenRecord | undefined> {
    let withCredential = true;
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(tokenId);
      if (current === undefined || current.state === 'revoked') return undefined;
      try {
        await this.client.send(
          new TransactWriteCommand({ TransactItems: this.revokeItems(current, change, withCredential) }),
        );
        return { ...current, state: 'revoked', revokedAt: change.at, lastChange: change };
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (reasons === undefined) throw error;
        const tokenReason = reasons[REVOKE.token];
        const tokenChanged = tokenReason?.Code === 'ConditionalCheckFailed';
        // Revoked meanwhile (a concurrent revoke): nothing left to do.
        if (tokenChanged && (tokenReason.Item === undefined || tokenReason.Item.state?.S === 'revoked')) {
          return undefined;
        }
        if (attempt >= MAX_ATTEMPTS) throw error;
        // Still active but its secret changed meanwhile (rotation): read again, revoke the current credential.
        if (tokenChanged) continue;
        if (failedCondition(reasons, REVOKE.credential)) {
          // The credential item is gone (TTL after expiry): the secret can no longer verify anyway.
          withCredential = false;
          continue;
        }
        if (!onlyConflicts(reasons)) throw error;
        await backoff(attempt);
      }
    }
  }

  private revokeItems(token: TokenRecord, change: TokenChange, withCredential: boolean): TransactItem[] {
    const items: TransactItem[] = [
      {
        Update: {
          TableName: this.tableName,
          Key: KEYS.token(token.id),
          UpdateExpression: 'SET #state = :revoked, revokedAt = :at, lastChange = :change',
          ConditionExpression: '#state = :active AND secretHash = :hash',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':revoked': 'revoked',
            ':active': 'active',
            ':at': change.at,
            ':change': dropUndefined({ ...change }),
            ':hash': token.secretHash,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
    ];
    if (withCredential) {
      items.push({
        Update: {
          TableName: this.tableName,
          Key: KEYS.credential(token.secretHash),
          UpdateExpression: 'SET #state = :revoked',
          // Never create a stray credential item if TTL has already removed it.
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':revoked': 'revoked' },
        },
      });
    }
    items.push(
      this.counterDecrement(KEYS.userLimit(token.accountId, token.userId)),
      this.counterDecrement(KEYS.accountLimit(token.accountId)),
    );
    return items;
  }

  private counterIncrement(key: Record<string, string>, limit: number): TransactItem {
    return {
      Update: {
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'SET #entity = :entity ADD #active :one',
        ConditionExpression: 'attribute_not_exists(#active) OR #active < :limit',
        ExpressionAttributeNames: { '#entity': 'entity', '#active': 'active' },
        ExpressionAttributeValues: { ':entity': 'limit', ':one': 1, ':limit': limit },
      },
    };
  }

  private counterDecrement(key: Record<string, string>): TransactItem {
    return {
      Update: {
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'SET #entity = :entity ADD #active :minusOne',
        ExpressionAttributeNames: { '#entity': 'entity', '#active': 'active' },
        ExpressionAttributeValues: { ':entity': 'limit', ':minusOne': -1 },
      },
    };
  }

  private async query(
    index: IndexDefinition,
    partition: string,
    page: PageRequest,
  ): Promise<Page<TokenRecord>> {
    const startKey = page.cursor === undefined ? undefined : decodeCursor(page.cursor, index, partition);
    const { Items = [], LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.indexName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': index.partitionKey },
        ExpressionAttributeValues: { ':pk': partition },
        ScanIndexForward: false,
        Limit: page.limit,
        ExclusiveStartKey: startKey,
      }),
    );
    return {
      items: Items.filter((item) => isTokenItem(item)).map((item) => itemToToken(item)),
      nextCursor: LastEvaluatedKey === undefined ? undefined : encodeCursor(LastEvaluatedKey),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Cursors: the query's LastEvaluatedKey as base64url JSON. Opaque to clients, and checked on the way
// back in so that a garbage, truncated or foreign cursor is a 400, never a DynamoDB error.

const MAX_CURSOR_VALUE_LENGTH = 512;

export function encodeCursor(lastEvaluatedKey: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(lastEvaluatedKey), 'utf8').toString('base64url');
}

function invalidCursor(): ValidationError {
  return new ValidationError('Invalid cursor', [
    { path: 'cursor', message: 'is not a cursor returned by this API for this listing' },
  ]);
}

export function decodeCursor(
  cursor: string,
  index: IndexDefinition,
  partition: string,
): Record<string, string> {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalidCursor();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw invalidCursor();
  const expectedKeys = [TABLE_KEYS.partitionKey, TABLE_KEYS.sortKey, index.partitionKey, index.sortKey];
  const entries = Object.entries(decoded);
  if (entries.length !== expectedKeys.length) throw invalidCursor();
  const key: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (!expectedKeys.includes(name) || typeof value !== 'string' || value.length > MAX_CURSOR_VALUE_LENGTH) {
      throw invalidCursor();
    }
    key[name] = value;
  }
  const tokenPk = key[TABLE_KEYS.partitionKey] ?? '';
  const tokenId = tokenPk.startsWith('TOKEN#') ? tokenPk.slice('TOKEN#'.length) : '';
  const expected = KEYS.token(tokenId);
  if (
    tokenId === '' ||
    key[TABLE_KEYS.sortKey] !== expected.sk ||
    key[index.partitionKey] !== partition ||
    !(key[index.sortKey] ?? '').endsWith(`#${tokenId}`)
  ) {
    throw invalidCursor();
  }
  return key;
}

// ---------------------------------------------------------------------------------------------

function cancellationReasons(error: unknown): readonly CancellationReason[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons: unknown = (error as { CancellationReasons?: unknown }).CancellationReasons;
  return Array.isArray(reasons) ? (reasons as CancellationReason[]) : [];
}

function failedCondition(reasons: readonly CancellationReason[], index: number): boolean {
  return reasons[index]?.Code === 'ConditionalCheckFailed';
}

function onlyConflicts(reasons: readonly CancellationReason[]): boolean {
  const codes = reasons.map((reason) => reason.Code ?? 'None');
  return (
    codes.includes('TransactionConflict') &&
    codes.every((code) => code === 'None' || code === 'TransactionConflict')
  );
}

function backoff(attempt: number): Promise<void> {
  return sleep(Math.round(20 * attempt * (0.5 + Math.random())));
}

/** Items without undefined values at any depth, whatever the client's marshalling options. */
function dropUndefined<T extends Record<string, unknown>>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
