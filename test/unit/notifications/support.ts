import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { _Record as StreamsRecord } from '@aws-sdk/client-dynamodb-streams';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { tokenToItem } from '../../../lambdas/adapters/items.js';
import { hashToken } from '../../../lambdas/core/hashing.js';
import { newTokenId } from '../../../lambdas/core/ids.js';
import type { TokenChange, TokenRecord } from '../../../lambdas/core/model.js';
import type {
  ClaimRequest,
  ClaimResult,
  IdempotencyStore,
  Mailer,
  OutgoingEmail,
} from '../../../lambdas/core/notifications/notifier.js';
import type { Clock } from '../../../lambdas/core/ports.js';
import { generateToken } from '../../../lambdas/core/token-format.js';
import { toLambdaRecord } from '../../../local/stream-poller.js';

// What the notification tests share: tokens with real secrets, stream records in Lambda's shape
// (built from the AWS samples), and in-memory ports.

export const HMAC_KEY = { version: 'v1', material: randomBytes(32) };
const DAY_MS = 86_400_000;

interface IssuedToken {
  readonly token: TokenRecord;
  /** The secret, to prove it never shows up anywhere. */
  readonly secret: string;
}

/** An active token with a real secret (hashed), owned by `userId`, created `createdAt`. */
export function issueToken(overrides: Partial<TokenRecord> = {}, now = new Date()): IssuedToken {
  const { secret, hint } = generateToken('atk');
  const createdAt = overrides.createdAt ?? now.toISOString();
  const token: TokenRecord = {
    id: newTokenId(),
    userId: 'user-1',
    accountId: 'acct-1',
    ownerEmail: 'owner@example.com',
    name: 'CI deploy key',
    description: 'used by the pipeline',
    scopes: ['content:read'],
    type: 'standard',
    allowedIps: [],
    hint,
    secretHash: hashToken(HMAC_KEY, secret),
    keyVersion: HMAC_KEY.version,
    state: 'active',
    createdAt,
    expiresAt: new Date(Date.parse(createdAt) + 30 * DAY_MS).toISOString(),
    lastUsedAt: null,
    rotatedAt: null,
    revokedAt: null,
    createdBy: overrides.userId ?? 'user-1',
    lastChange: {
      action: 'created',
      at: createdAt,
      actorUserId: overrides.userId ?? 'user-1',
      actorRole: 'member',
      sourceIp: '198.51.100.7',
      userAgent: 'curl/8.5.0',
    },
    version: 1,
    previousSecretHash: null,
    previousSecretNotAfter: null,
    limits: null,
    ...overrides,
  };
  return { token, secret };
}

export function changed(token: TokenRecord, change: Partial<TokenChange> & Pick<TokenChange, 'action'>) {
  return {
    ...token,
    lastChange: {
      at: new Date().toISOString(),
      actorUserId: token.userId,
      actorRole: 'member' as const,
      sourceIp: '203.0.113.9',
      userAgent: 'Mozilla/5.0',
      ...change,
    },
  };
}

export function revoked(token: TokenRecord, change: Partial<TokenChange> = {}): TokenRecord {
  const next = changed(token, { action: 'revoked', ...change });
  return { ...next, state: 'revoked', revokedAt: next.lastChange.at };
}

const FIXTURES = new URL('../../fixtures/aws-events/', import.meta.url);
const SAMPLE = JSON.parse(
  readFileSync(new URL('dynamodb-stream.json', FIXTURES), 'utf8'),
) as DynamoDBStreamEvent;
const TTL_SAMPLE = JSON.parse(
  readFileSync(new URL('dynamodb-stream-ttl-delete.json', FIXTURES), 'utf8'),
) as DynamoDBStreamEvent;

let sequence = 1000;

interface RecordOptions {
  readonly oldItem?: Record<string, unknown>;
  readonly newItem?: Record<string, unknown>;
  readonly sequenceNumber?: string;
  readonly eventID?: string;
}

/** A stream record of the table, in Lambda's shape, starting from AWS's sample records. */
export function streamRecord(
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  options: RecordOptions,
): DynamoDBRecord {
  const sample = (eventName === 'REMOVE' ? TTL_SAMPLE.Records[0] : SAMPLE.Records[0]) as DynamoDBRecord;
  const item = options.newItem ?? options.oldItem ?? {};
  sequence += 1;
  const sdkRecord: StreamsRecord = {
    eventID: options.eventID ?? randomUUID().replaceAll('-', ''),
    eventName,
    eventVersion: sample.eventVersion,
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: new Date(),
      Keys: marshall({ pk: item.pk, sk: item.sk }),
      ...(options.newItem === undefined
        ? {}
        : { NewImage: marshall(options.newItem, { removeUndefinedValues: true }) }),
      ...(options.oldItem === undefined
        ? {}
        : { OldImage: marshall(options.oldItem, { removeUndefinedValues: true }) }),
      SequenceNumber: options.sequenceNumber ?? String(sequence).padStart(21, '0'),
      SizeBytes: 512,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
  return toLambdaRecord(
    sdkRecord,
    'arn:aws:dynamodb:us-east-1:123456789012:table/access-tokens/stream/2026-01-01T00:00:00.000',
    'us-east-1',
  );
}

/** A TTL deletion: as the sample, the DynamoDB service principal in userIdentity. */
export function ttlDeletion(token: TokenRecord): DynamoDBRecord {
  const sample = TTL_SAMPLE.Records[0] as DynamoDBRecord;
  return { ...streamRecord('REMOVE', { oldItem: tokenToItem(token) }), userIdentity: sample.userIdentity };
}

export const insertOf = (token: TokenRecord) => streamRecord('INSERT', { newItem: tokenToItem(token) });
export const modifyOf = (before: TokenRecord, after: TokenRecord) =>
  streamRecord('MODIFY', { oldItem: tokenToItem(before), newItem: tokenToItem(after) });
/** A user's (or an operator's) delete: no userIdentity. */
export const userDeleteOf = (token: TokenRecord) => streamRecord('REMOVE', { oldItem: tokenToItem(token) });

export const batch = (...records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });

export function fixedClock(start: Date): Clock & { advance(ms: number): void; set(date: Date): void } {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance: (ms) => {
      now += ms;
    },
    set: (date) => {
      now = date.getTime();
    },
  };
}

interface MemoryRecord {
  status: 'pending' | 'sent';
  claimId: string;
  leaseUntilMs: number;
  expiresAt: number;
  maybeSent?: boolean;
}

/** The DynamoDB store's semantics in memory. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly records = new Map<string, MemoryRecord>();
  private counter = 0;

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const existing = this.records.get(request.key);
    if (existing?.status === 'sent') return { status: 'done' };
    if (existing !== undefined) {
      return existing.leaseUntilMs >= request.now.getTime()
        ? { status: 'in-progress', leaseUntilMs: existing.leaseUntilMs }
        : { status: 'lapsed', claimId: existing.claimId };
    }
    this.counter += 1;
    const claimId = `claim-${this.counter}`;
    this.records.set(request.key, {
      status: 'pending',
      claimId,
      leaseUntilMs: request.leaseUntilMs,
      expiresAt: request.expiresAt,
    });
    return { status: 'claimed', claimId };
  }

  async complete(key: string, claimId: string): Promise<void> {
    const record = this.records.get(key);
    if (record?.claimId === claimId) record.status = 'sent';
  }

  async markMaybeSent(key: string, claimId: string): Promise<void> {
    const record = this.records.get(key);
    if (record?.claimId === claimId && record.status === 'pending') {
      record.status = 'sent';
      record.maybeSent = true;
    }
  }

  async release(key: string, claimId: string): Promise<void> {
    const record = this.records.get(key);
    if (record?.claimId === claimId && record.status === 'pending') this.records.delete(key);
  }
}

export class RecordingMailer implements Mailer {
  readonly sent: OutgoingEmail[] = [];
  /** Errors to throw, one per send, before sending works again. */
  readonly failures: unknown[] = [];

  async send(email: OutgoingEmail): Promise<{ messageId: string }> {
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
    this.sent.push(email);
    return { messageId: `message-${this.sent.length}` };
  }
}

/** Every string of an email a reader could see. */
export function emailTexts(email: { subject: string; text?: string; html?: string }): string {
  return [email.subject, email.text ?? '', email.html ?? ''].join('\n');
}
