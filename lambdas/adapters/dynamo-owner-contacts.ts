import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { OwnerContact, OwnerContacts } from '../core/notifications/contacts.js';

// Owners' current addresses (lambdas/core/notifications/contacts.ts), one item per user:
// pk `CONTACT#<accountId>#<userId>`, sk `CONTACT`, entity `contact`, email, updatedAt (the time of
// the management write that named it) and previousEmail (the address it replaced; '' for none).
// Written by the notifier only (an IAM dynamodb:LeadingKeys condition); read by the notifier and
// the reminder job. Its stream records reach the notifier, which tells both addresses of a change.

export const CONTACT_PREFIX = 'CONTACT#';
const CONTACT_SORT_KEY = 'CONTACT';
const CONTACT_ENTITY = 'contact';

function contactItemKey(accountId: string, userId: string): { pk: string; sk: string } {
  return { pk: `${CONTACT_PREFIX}${accountId}#${userId}`, sk: CONTACT_SORT_KEY };
}

const contactItemSchema = z.object({
  entity: z.literal(CONTACT_ENTITY),
  accountId: z.string(),
  userId: z.string(),
  email: z.string(),
  updatedAt: z.string(),
  previousEmail: z.string().optional(),
});

export function isContactItem(item: Record<string, unknown> | undefined): boolean {
  return item?.entity === CONTACT_ENTITY;
}

export function itemToContact(item: Record<string, unknown>): OwnerContact {
  const parsed = contactItemSchema.parse(item);
  return {
    accountId: parsed.accountId,
    userId: parsed.userId,
    email: parsed.email,
    updatedAt: parsed.updatedAt,
    previousEmail:
      parsed.previousEmail === undefined || parsed.previousEmail === '' ? undefined : parsed.previousEmail,
  };
}

export class DynamoOwnerContacts implements OwnerContacts {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async current(accountId: string, userId: string): Promise<string | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: contactItemKey(accountId, userId),
        ConsistentRead: true,
        ProjectionExpression: 'email',
      }),
    );
    const email = Item?.email;
    return typeof email === 'string' && email !== '' ? email : undefined;
  }

  async record(contact: {
    readonly accountId: string;
    readonly userId: string;
    readonly email: string;
    readonly at: string;
    readonly fallbackPrevious: string | undefined;
  }): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: contactItemKey(contact.accountId, contact.userId),
          // previousEmail: the stored address (evaluated before this update), or the token's
          // creation-time address for a user's first record.
          UpdateExpression:
            'SET entity = :entity, accountId = :accountId, userId = :userId, previousEmail = if_not_exists(email, :fallback), email = :email, updatedAt = :at',
          // A new address only, and never an older write over a newer one (records of different
          // tokens come through different shards, in any order).
          ConditionExpression: 'attribute_not_exists(pk) OR (updatedAt < :at AND email <> :email)',
          ExpressionAttributeValues: {
            ':entity': CONTACT_ENTITY,
            ':accountId': contact.accountId,
            ':userId': contact.userId,
            ':email': contact.email,
            ':at': contact.at,
            ':fallback': contact.fallbackPrevious ?? '',
          },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
