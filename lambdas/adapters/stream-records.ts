import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, AttributeValue as StreamAttributeValue } from 'aws-lambda';
import type { AuditEvent, TokenRecord } from '../core/model.js';
import type { OwnerContact } from '../core/notifications/contacts.js';
import type { TokenStreamChange } from '../core/notifications/events.js';
import { isAuditItem, itemToAuditEvent } from './audit-items.js';
import { isContactItem, itemToContact } from './dynamo-owner-contacts.js';
import { isTokenItem, itemToToken } from './items.js';
import { TTL_ATTRIBUTE } from './table-definition.js';

// Decodes a DynamoDB stream record, as Lambda delivers it, into what the notifier acts on: a
// token change, the summary audit event of a revoke-all, or a change of an owner's contact address;
// undefined for any other item (credentials, limit counters, other audit events, idempotency
// records).

/** The principal of TTL deletions (DynamoDB itself); a user's delete carries no userIdentity. */
export const DYNAMODB_SERVICE_PRINCIPAL = 'dynamodb.amazonaws.com';

/** Lambda's JSON attribute values (binary as base64) in the SDK's shape (binary as bytes). */
function toSdkAttributeValue(value: StreamAttributeValue): AttributeValue {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.B !== undefined) return { B: Buffer.from(value.B, 'base64') };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  if (value.BS !== undefined) return { BS: value.BS.map((item) => Buffer.from(item, 'base64')) };
  if (value.L !== undefined) return { L: value.L.map(toSdkAttributeValue) };
  if (value.M !== undefined) return { M: toSdkImage(value.M) };
  throw new TypeError('unsupported attribute value in stream record');
}

function toSdkImage(image: Record<string, StreamAttributeValue>): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, toSdkAttributeValue(value)]));
}

function imageOf(
  image: Record<string, StreamAttributeValue> | undefined,
): Record<string, unknown> | undefined {
  return image === undefined ? undefined : unmarshall(toSdkImage(image));
}

export function isTtlDeletion(record: DynamoDBRecord): boolean {
  const identity: unknown = record.userIdentity;
  if (typeof identity !== 'object' || identity === null) return false;
  const { type, principalId } = identity as { type?: unknown; principalId?: unknown };
  return type === 'Service' && principalId === DYNAMODB_SERVICE_PRINCIPAL;
}

/** What the decoders need to know of the table. */
export interface StreamTableOptions {
  /**
   * The table is a global table (docs/regions.md): TTL may have run in another Region's replica.
   * @default false
   */
  readonly replicated?: boolean;
}

/**
 * Whether a REMOVE is an expiry: DynamoDB's TTL deleted the item, here or, in a global table (README
 * "Several Regions", docs/regions.md; `replicated`), in another Region's replica. A TTL deletion made here carries
 * the service principal as userIdentity; one made in another Region arrives as a replicated write,
 * which carries no userIdentity (as a user's delete; in the legacy 2017.11.29 global tables it also
 * carries `aws:rep:*` attributes, which say nothing about why). What tells it from a user's delete:
 * the removed item's `ttl` (epoch seconds) had passed when the deletion reached this stream
 * (ApproximateCreationDateTime, epoch seconds). The service never deletes a token item itself, so
 * a REMOVE of an expired one is its expiry; an operator's delete of a live one is not. In one Region
 * (not `replicated`) only the TTL identity counts: there a REMOVE without it is always a delete.
 */
export function isExpiryDeletion(record: DynamoDBRecord, options: StreamTableOptions = {}): boolean {
  if (record.eventName !== 'REMOVE') return false;
  if (isTtlDeletion(record)) return true;
  if (options.replicated !== true) return false;
  if (record.userIdentity !== undefined && record.userIdentity !== null) return false;
  const ttl = Number(record.dynamodb?.OldImage?.[TTL_ATTRIBUTE]?.N);
  const deletedAt = record.dynamodb?.ApproximateCreationDateTime;
  return Number.isFinite(ttl) && typeof deletedAt === 'number' && ttl <= deletedAt;
}

function tokenOf(item: Record<string, unknown> | undefined): TokenRecord | undefined {
  return item !== undefined && isTokenItem(item) ? itemToToken(item) : undefined;
}

function bulkFlagOf(item: Record<string, unknown> | undefined): boolean {
  const change = item?.lastChange;
  return typeof change === 'object' && change !== null && (change as { bulk?: unknown }).bulk === true;
}

/**
 * The token change a stream record carries, or undefined when it is not about a token item.
 * Throws when a token image does not parse (a record to report, not to skip silently).
 */
export function decodeTokenChange(
  record: DynamoDBRecord,
  options: StreamTableOptions = {},
): TokenStreamChange | undefined {
  const eventName = record.eventName;
  if (eventName === undefined) return undefined;
  const oldItem = imageOf(record.dynamodb?.OldImage);
  const newItem = imageOf(record.dynamodb?.NewImage);
  if (!isTokenItem(oldItem) && !isTokenItem(newItem)) return undefined;
  return {
    eventName,
    oldToken: tokenOf(oldItem),
    newToken: tokenOf(newItem),
    // TTL's deletion, here or replicated from another Region (a global table).
    removedByService: isExpiryDeletion(record, options),
    bulk: bulkFlagOf(newItem),
  };
}

export type NotifierRecord =
  | { readonly type: 'token'; readonly change: TokenStreamChange }
  | { readonly type: 'revoked-all'; readonly event: AuditEvent }
  | {
      readonly type: 'contact';
      readonly oldContact: OwnerContact | undefined;
      readonly newContact: OwnerContact | undefined;
    };

/**
 * What a stream record means to the notifier, or undefined when nothing. Throws when an image of
 * an item it acts on does not parse (a record to report, not to skip silently).
 */
export function decodeNotifierRecord(
  record: DynamoDBRecord,
  options: StreamTableOptions = {},
): NotifierRecord | undefined {
  const change = decodeTokenChange(record, options);
  if (change !== undefined) return { type: 'token', change };
  const oldItem = imageOf(record.dynamodb?.OldImage);
  const newItem = imageOf(record.dynamodb?.NewImage);
  if (record.eventName === 'INSERT' && isAuditItem(newItem) && newItem?.action === 'tokens.revoked-all') {
    return { type: 'revoked-all', event: itemToAuditEvent(newItem) };
  }
  if (isContactItem(oldItem) || isContactItem(newItem)) {
    return {
      type: 'contact',
      oldContact: oldItem !== undefined && isContactItem(oldItem) ? itemToContact(oldItem) : undefined,
      newContact: newItem !== undefined && isContactItem(newItem) ? itemToContact(newItem) : undefined,
    };
  }
  return undefined;
}

/** What a log line says of a stream record: its ids, never its images. */
export function streamRecordFields(record: DynamoDBRecord): Record<string, unknown> {
  return { eventID: record.eventID, sequenceNumber: record.dynamodb?.SequenceNumber };
}

/** The record's id for a partial batch response (`batchItemFailures[].itemIdentifier`). */
export function sequenceNumberOf(record: DynamoDBRecord | undefined): string {
  const sequenceNumber = record?.dynamodb?.SequenceNumber;
  // Lambda always sends one; without it the record cannot be reported, so fail the whole batch.
  if (sequenceNumber === undefined)
    throw new Error(`stream record ${record?.eventID ?? '?'} has no SequenceNumber`);
  return sequenceNumber;
}
