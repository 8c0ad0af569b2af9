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
// pk `IDEMPOTENCY#<key>`, sk `IDEMPOTENCY`, entity `notification`, status `pending` (with
// `leaseUntil`) | `sent` (`maybeSent: true` when a lapsed claim was closed without sending), and the
// table's TTL attribute. The protocol is in lambdas/core/notifications/notifier.ts. Both functions
// may write only items whose pk starts with `IDEMPOTENCY#` or `CONTACT#` (an IAM
// dynamodb:LeadingKeys condition), and the event source filters these items out of the notifier's
// stream.

const IDEMPOTENCY_SORT_KEY = 'IDEMPOTENCY';
const IDEMPOTENCY_ENTITY = 'notification';

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
      if (Item === undefined) {
        if (attempt >= 2) return { status: 'in-progress', leaseUntilMs: request.now.getTime() };
        continue;
      }
      if (Item.status === 'sent') return { status: 'done' };
      // Our own put, answered too late and retried by the SDK: the claim is ours.
      if (Item.claimId === claimId) return { status: 'claimed', claimId };
      const leaseUntilMs = typeof Item.leaseUntil === 'number' ? Item.leaseUntil : 0;
      if (leaseUntilMs >= request.now.getTime()) return { status: 'in-progress', leaseUntilMs };
      return { status: 'lapsed', claimId: String(Item.claimId) };
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
          // Only a new record: a lapsed claim is never taken over (it may have been sent).
          ConditionExpression: 'attribute_not_exists(pk)',
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
      // Someone marked it maybe sent after our lease lapsed: that record stands.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async markMaybeSent(key: string, claimId: string, at: Date): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: idempotencyItemKey(key),
          UpdateExpression: 'SET #status = :sent, sentAt = :at, maybeSent = :true REMOVE leaseUntil',
          ConditionExpression: 'claimId = :claimId AND #status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':sent': 'sent',
            ':at': at.toISOString(),
            ':true': true,
            ':claimId': claimId,
            ':pending': 'pending',
          },
        }),
      );
    } catch (error) {
      // Its holder marked or released it meanwhile: that stands.
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
