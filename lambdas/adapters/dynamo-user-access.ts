import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { forEachBounded } from '../core/bounded.js';
import { ConflictError } from '../core/errors.js';
import type { AuditEvent, UserAccess } from '../core/model.js';
import { type Clock, systemClock, type UserAccessRepository } from '../core/ports.js';
import { auditEventToItem } from './audit-items.js';
import { cancellationReasons } from './dynamo-token-transact.js';
import { isTokenItem, itemToToken } from './items.js';
import { KEYS } from './table-definition.js';

// A user's token access on the single table: one item per switched user (absent = enabled), with
// a generation that grows by one on every switch. The generation is what makes the fan-out onto
// credential items safe to run late, twice or concurrently: a credential only takes a state from a
// generation newer than the one it holds, so a slow disable can never undo a later enable.

interface DynamoUserAccessOptions {
  readonly auditRetentionDays: number;
  /** Decides whether a previous secret is still in its grace period; tests pin it. */
  readonly clock?: Clock;
}

const accessItemSchema = z.object({
  entity: z.literal('userAccess'),
  accountId: z.string(),
  userId: z.string(),
  enabled: z.boolean(),
  generation: z.number().int().min(0),
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
});

/** Switch attempts: each lost race means another admin switched meanwhile, so it is re-read. */
const MAX_SET_ATTEMPTS = 5;
/** Token reads and credential writes in flight at once during a fan-out. */
const FAN_OUT_CONCURRENCY = 8;
const SET = { access: 0, audit: 1 } as const;

export class DynamoUserAccessRepository implements UserAccessRepository {
  private readonly clock: Clock;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: DynamoUserAccessOptions = { auditRetentionDays: 365 },
  ) {
    this.clock = options.clock ?? systemClock;
  }

  async get(accountId: string, userId: string): Promise<UserAccess> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: KEYS.userAccess(accountId, userId),
        ConsistentRead: true,
      }),
    );
    if (Item === undefined) {
      return { accountId, userId, enabled: true, generation: 0, updatedAt: null, updatedBy: null };
    }
    const { entity: _entity, ...access } = accessItemSchema.parse(Item);
    return access;
  }

  async set(
    accountId: string,
    userId: string,
    enabled: boolean,
    by: { readonly at: string; readonly actorUserId: string },
    audit: AuditEvent,
  ): Promise<{ readonly access: UserAccess; readonly changed: boolean }> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(accountId, userId);
      if (current.enabled === enabled) return { access: current, changed: false };
      const next: UserAccess = {
        accountId,
        userId,
        enabled,
        generation: current.generation + 1,
        updatedAt: by.at,
        updatedBy: by.actorUserId,
      };
      try {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: this.tableName,
                  Key: KEYS.userAccess(accountId, userId),
                  UpdateExpression:
                    'SET #entity = :entity, #accountId = :accountId, #userId = :userId, #enabled = :enabled, #generation = :generation, #updatedAt = :updatedAt, #updatedBy = :updatedBy',
                  ConditionExpression:
                    current.generation === 0
                      ? 'attribute_not_exists(pk)'
                      : '#generation = :expectedGeneration',
                  ExpressionAttributeNames: {
                    '#entity': 'entity',
                    '#accountId': 'accountId',
                    '#userId': 'userId',
                    '#enabled': 'enabled',
                    '#generation': 'generation',
                    '#updatedAt': 'updatedAt',
                    '#updatedBy': 'updatedBy',
                  },
                  ExpressionAttributeValues: {
                    ':entity': 'userAccess',
                    ':accountId': accountId,
                    ':userId': userId,
                    ':enabled': enabled,
                    ':generation': next.generation,
                    ':updatedAt': by.at,
                    ':updatedBy': by.actorUserId,
                    ...(current.generation === 0 ? {} : { ':expectedGeneration': current.generation }),
                  },
                },
              },
              {
                Put: {
                  TableName: this.tableName,
                  Item: JSON.parse(
                    JSON.stringify(auditEventToItem(audit, this.options.auditRetentionDays)),
                  ) as Record<string, unknown>,
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
            ],
            // Fresh per attempt: the SDK's own resend after a lost response is then a no-op
            // success rather than a failed condition on our own write.
            ClientRequestToken: randomUUID(),
          }),
        );
        return { access: next, changed: true };
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (reasons === undefined) throw error;
        const lostRace =
          reasons[SET.access]?.Code === 'ConditionalCheckFailed' ||
          (reasons.some((reason) => reason.Code === 'TransactionConflict') &&
            reasons.every((reason) => ['None', 'TransactionConflict'].includes(reason.Code ?? 'None')));
        if (!lostRace) throw error;
        if (attempt >= MAX_SET_ATTEMPTS) {
          throw new ConflictError('Token access was switched by someone else at the same time; try again');
        }
        await sleep(Math.round(20 * 2 ** (attempt - 1) * (0.5 + Math.random())));
      }
    }
  }

  async applyToCredentials(access: UserAccess, tokenIds: readonly string[]): Promise<number> {
    let written = 0;
    await forEachBounded(tokenIds, FAN_OUT_CONCURRENCY, async (tokenId) => {
      const count = await this.applyToToken(access, tokenId);
      written += count;
    });
    return written;
  }

  private async applyToToken(access: UserAccess, tokenId: string): Promise<number> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: KEYS.token(tokenId), ConsistentRead: true }),
    );
    // Gone since it was listed (TTL after expiry): its credentials are gone or can no longer verify.
    if (Item === undefined || !isTokenItem(Item)) return 0;
    const token = itemToToken(Item);
    const hashes = [token.secretHash];
    if (
      token.previousSecretHash !== null &&
      token.previousSecretNotAfter !== null &&
      Date.parse(token.previousSecretNotAfter) > this.clock.now().getTime()
    ) {
      hashes.push(token.previousSecretHash);
    }
    let written = 0;
    for (const secretHash of hashes) {
      if (await this.applyToCredential(access, secretHash)) written++;
    }
    return written;
  }

  private async applyToCredential(access: UserAccess, secretHash: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEYS.credential(secretHash),
          UpdateExpression: 'SET #disabled = :disabled, #generation = :generation',
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(#generation) OR #generation < :generation)',
          ExpressionAttributeNames: { '#disabled': 'disabled', '#generation': 'accessGeneration' },
          ExpressionAttributeValues: { ':disabled': !access.enabled, ':generation': access.generation },
        }),
      );
      return true;
    } catch (error) {
      // The credential is gone (TTL), or a newer switch already reached it: nothing to do here.
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}
