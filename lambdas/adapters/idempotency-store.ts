import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { IDEMPOTENCY_PREFIX } from '../core/notifications/idempotency.js';
import type { ClaimRequest, ClaimResult, IdempotencyStore } from '../core/notifications/notifier.js';
import { TTL_ATTRIBUTE } from './table-definition.js';

// Idempotency records of the notifier and the reminder job, in the service's table:
// pk `IDEMPOTENCY#<key>`, sk `IDEMPOTENCY`, entity `notification`, status `pending` | `sent`, and the
// table's TTL attribute. Both functions may touch only items whose pk starts with `IDEMPOTENCY#`
// (an IAM dynamodb:LeadingKeys condition), and the event source filters these items out of the
// notifier's stream.

export const IDEMPOTENCY_SORT_KEY = 'IDEMPOTENCY';
export const IDEMPOTENCY_ENTITY = 'notification';

export function idempotencyItemKey(key: string): { pk: string; sk: string } {
  return { pk: `${IDEMPOTENCY_PREFIX}${key}`, sk: IDEMPOTENCY_SORT_KEY };
}

export class DynamoIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly newClaimId: () => string = randomUUID,
  ) {}

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    // Two rounds at most: a claim released between our put and our read is simply claimed again.
    for (let attempt = 1; ; attempt++) {
      const claimId = this.newClaimId();
      if (await this.tryPut(request, claimId)) return { status: 'claimed', claimId };
      const { Item } = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: idempotencyItemKey(request.key),
          ConsistentRead: true,
        }),
      );
      if (Item?.status === 'sent') return { status: 'done' };
      if (Item !== undefined || attempt >= 2) return { status: 'in-progress' };
    }
  }

  private async tryPut(request: ClaimRequest, claimId: string): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...idempotencyItemKey(request.key),
            entity: IDEMPOTENCY_ENTITY,
            kind: request.kind,
            tokenId: request.tokenId,
            status: 'pending',
            claimId,
            claimedAt: request.now.toISOString(),
            leaseUntil: request.leaseUntilMs,
            [TTL_ATTRIBUTE]: request.expiresAt,
          },
          // New, or a pending claim whose holder has stopped (its lease lapsed).
          ConditionExpression: 'attribute_not_exists(pk) OR (#status = :pending AND leaseUntil < :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': 'pending', ':now': request.now.getTime() },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async complete(key: string, claimId: string, sentAt: Date, messageId: string | undefined): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: idempotencyItemKey(key),
          UpdateExpression: 'SET #status = :sent, sentAt = :sentAt, messageId = :messageId REMOVE leaseUntil',
          ConditionExpression: 'claimId = :claimId',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':sent': 'sent',
            ':sentAt': sentAt.toISOString(),
            ':messageId': messageId ?? null,
            ':claimId': claimId,
          },
        }),
      );
    } catch (error) {
      // Someone took the claim over after our lease lapsed: their record stands.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async release(key: string, claimId: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: idempotencyItemKey(key),
          ConditionExpression: 'claimId = :claimId AND #status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':claimId': claimId, ':pending': 'pending' },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
