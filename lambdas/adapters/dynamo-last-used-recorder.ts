import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { LastUsedRecorder } from '../core/ports.js';
import { KEYS } from './table-definition.js';

// The authorizer's only write: lastUsedAt on the token item. The condition does the throttling
// across containers (one write per token per interval, however many containers race), and
// `attribute_exists(pk)` keeps a use of a token deleted meanwhile (TTL) from creating a stray
// item. The expression names no attribute besides pk and lastUsedAt, because the authorizer's IAM
// policy limits dynamodb:Attributes to pk, sk and lastUsedAt: widening it would let a compromised
// authorizer rewrite scopes or state.

const CONDITION =
  'attribute_exists(pk) AND (attribute_not_exists(lastUsedAt) OR attribute_type(lastUsedAt, :nullType) OR lastUsedAt < :notBefore)';

export class DynamoLastUsedRecorder implements LastUsedRecorder {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async recordUse(tokenId: string, at: Date, notBefore: Date): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEYS.token(tokenId),
          UpdateExpression: 'SET lastUsedAt = :at',
          ConditionExpression: CONDITION,
          // ISO 8601 UTC strings of one format sort as their times do, so `<` compares instants.
          ExpressionAttributeValues: {
            ':at': at.toISOString(),
            ':notBefore': notBefore.toISOString(),
            ':nullType': 'NULL',
          },
          ReturnValues: 'NONE',
        }),
      );
      return true;
    } catch (error) {
      // Recorded recently by someone else, or the token is gone: both are answers, not failures.
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}
