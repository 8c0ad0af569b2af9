import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { credentialFor, credentialToItem } from '../../../lambdas/adapters/items.js';
import { expiredAuditEvent } from '../../../lambdas/core/audit.js';
import type { AuditEvent, TokenRecord } from '../../../lambdas/core/model.js';
import type { TokenRepository } from '../../../lambdas/core/ports.js';
import { createExpiryLedger, decide, type LedgerLogger } from '../../../lambdas/expiry-ledger/ledger.js';
import {
  batch,
  insertOf,
  issueToken,
  modifyOf,
  revoked,
  streamRecord,
  ttlDeletion,
  userDeleteOf,
} from '../notifications/support.js';

// The ledger's batch logic with a fake repository: which records release a slot, what is logged,
// and which records a failure reports.

type Release = TokenRepository['releaseSlotOfDeletedToken'];

/** The repository's semantics in memory: a slot is released once, whoever asks again gets false. */
class FakeRepository {
  readonly calls: { token: TokenRecord; audit: AuditEvent }[] = [];
  readonly released = new Set<string>();
  /** Errors to throw, one per call, before calls work again. */
  readonly failures: unknown[] = [];

  releaseSlotOfDeletedToken: Release = async (token, audit) => {
    this.calls.push({ token, audit });
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
    if (this.released.has(token.id)) return false;
    this.released.add(token.id);
    return true;
  };
}

class RecordingLogger implements LedgerLogger {
  readonly lines: { level: 'info' | 'error'; message: string; fields: Record<string, unknown> }[] = [];
  info(message: string, fields: Record<string, unknown>): void {
    this.lines.push({ level: 'info', message, fields });
  }
  error(message: string, fields: Record<string, unknown>): void {
    this.lines.push({ level: 'error', message, fields });
  }
}

function setup() {
  const repository = new FakeRepository();
  const logger = new RecordingLogger();
  const ledger = createExpiryLedger({ repository, logger });
  return { repository, logger, ledger };
}

const sequenceNumberOf = (record: DynamoDBRecord) => record.dynamodb?.SequenceNumber;

describe('decide', () => {
  it('releases only for a TTL deletion of an active token', () => {
    const { token } = issueToken();
    expect(decide(ttlDeletion(token))).toEqual({ action: 'release', token });
  });

  it('skips a revoked token (its slot went back when it was revoked)', () => {
    const { token } = issueToken();
    expect(decide(ttlDeletion(revoked(token)))).toEqual({
      action: 'skip',
      reason: 'not-active',
      tokenId: token.id,
    });
  });

  it("skips a user's delete, inserts and modifications of tokens", () => {
    const { token } = issueToken();
    expect(decide(userDeleteOf(token))).toMatchObject({ action: 'skip', reason: 'not-a-ttl-deletion' });
    expect(decide(insertOf(token))).toEqual({
      action: 'skip',
      reason: 'not-a-ttl-deletion',
      tokenId: token.id,
    });
    expect(decide(modifyOf(token, revoked(token)))).toMatchObject({
      action: 'skip',
      reason: 'not-a-ttl-deletion',
    });
  });

  it('skips TTL deletions of other items (credentials, audit events)', () => {
    const { token } = issueToken();
    const credential = credentialToItem(credentialFor(token));
    const record = {
      ...streamRecord('REMOVE', { oldItem: credential }),
      userIdentity: ttlDeletion(token).userIdentity,
    };
    expect(decide(record)).toEqual({ action: 'skip', reason: 'not-a-token', tokenId: null });
  });

  it('throws on a token image that does not parse (to be reported, not skipped)', () => {
    const { token } = issueToken();
    const record = ttlDeletion(token);
    const broken: DynamoDBRecord = {
      ...record,
      dynamodb: {
        ...record.dynamodb,
        OldImage: { ...record.dynamodb?.OldImage, scopes: { S: 'not a list' } },
      },
    };
    expect(() => decide(broken)).toThrow();
  });
});

describe('expiry ledger', () => {
  it('releases each expired active token once, with its deterministic token.expired event', async () => {
    const { repository, ledger } = setup();
    const first = issueToken().token;
    const second = issueToken().token;

    await expect(ledger(batch(ttlDeletion(first), ttlDeletion(second)))).resolves.toEqual({
      batchItemFailures: [],
    });

    expect(repository.calls.map((call) => call.token)).toEqual([first, second]);
    expect(repository.calls.map((call) => call.audit)).toEqual([
      expiredAuditEvent(first),
      expiredAuditEvent(second),
    ]);
    expect(repository.calls[0]?.audit).toMatchObject({
      action: 'token.expired',
      at: first.expiresAt,
      tokenId: first.id,
      actor: { userId: null, role: null },
    });
  });

  it('acts on nothing but TTL deletions of active tokens in a mixed batch', async () => {
    const { repository, ledger } = setup();
    const active = issueToken().token;
    const gone = issueToken().token;
    const event = batch(
      insertOf(active),
      modifyOf(active, revoked(active)),
      userDeleteOf(active),
      ttlDeletion(revoked(gone)),
      streamRecord('INSERT', { newItem: credentialToItem(credentialFor(active)) }),
      ttlDeletion(active),
    );

    await expect(ledger(event)).resolves.toEqual({ batchItemFailures: [] });

    expect(repository.calls.map((call) => call.token.id)).toEqual([active.id]);
  });

  it('logs one line per record: the token id and whether this delivery released the slot', async () => {
    const { logger, ledger } = setup();
    const { token } = issueToken();
    const revokedToken = revoked(issueToken().token);

    await ledger(batch(ttlDeletion(token), ttlDeletion(token), ttlDeletion(revokedToken), insertOf(token)));

    expect(logger.lines.map((line) => [line.level, line.fields.tokenId, line.fields.released])).toEqual([
      ['info', token.id, true],
      ['info', token.id, false],
      ['info', revokedToken.id, false],
      ['info', token.id, false],
    ]);
    expect(logger.lines.map((line) => line.fields.reason)).toEqual([
      undefined,
      undefined,
      'not-active',
      'not-a-ttl-deletion',
    ]);
    for (const line of logger.lines) expect(line.fields.sequenceNumber).toBeTypeOf('string');
    expect(JSON.stringify(logger.lines)).not.toContain(token.secretHash);
  });

  it('a redelivered batch releases nothing twice', async () => {
    const { repository, ledger } = setup();
    const { token } = issueToken();
    const event = batch(ttlDeletion(token));

    await ledger(event);
    await ledger(event);

    expect(repository.released).toEqual(new Set([token.id]));
    expect(repository.calls).toHaveLength(2);
  });

  it('reports the first failing record and every later one, and attempts none of them after it', async () => {
    const { repository, logger, ledger } = setup();
    const tokens = [issueToken(), issueToken(), issueToken()].map(({ token }) => token);
    const records = tokens.map(ttlDeletion);
    repository.failures.push(
      undefined,
      Object.assign(new Error('Throughput exceeds the limit'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 400 },
        $fault: 'client',
      }),
    );

    const result = await ledger(batch(...records));

    expect(result.batchItemFailures).toEqual(
      records.slice(1).map((record) => ({
        itemIdentifier: sequenceNumberOf(record),
      })),
    );
    expect(repository.calls.map((call) => call.token.id)).toEqual([tokens[0]?.id, tokens[1]?.id]);
    const failure = logger.lines.find((line) => line.level === 'error');
    expect(failure?.fields).toMatchObject({
      tokenId: tokens[1]?.id,
      released: false,
      errorName: 'ThrottlingException',
      httpStatusCode: 400,
      reportedRecords: 2,
    });
    // An AWS error's message is not logged (some carry request data).
    expect(JSON.stringify(logger.lines)).not.toContain('Throughput exceeds');
  });

  it('reports a record whose token image does not parse, and the rest after it', async () => {
    const { repository, ledger } = setup();
    const good = ttlDeletion(issueToken().token);
    const record = ttlDeletion(issueToken().token);
    const broken: DynamoDBRecord = {
      ...record,
      dynamodb: { ...record.dynamodb, OldImage: { ...record.dynamodb?.OldImage, state: { S: 'weird' } } },
    };
    const after = ttlDeletion(issueToken().token);

    const result = await ledger(batch(good, broken, after));

    expect(result.batchItemFailures).toEqual([
      { itemIdentifier: sequenceNumberOf(broken) },
      { itemIdentifier: sequenceNumberOf(after) },
    ]);
    expect(repository.calls).toHaveLength(1);
  });

  it('fails the whole batch when a failing record has no sequence number (it cannot be reported)', async () => {
    const { repository, ledger } = setup();
    const record = ttlDeletion(issueToken().token);
    repository.failures.push(new Error('boom'));
    const withoutSequence: DynamoDBRecord = {
      ...record,
      dynamodb: { ...record.dynamodb, SequenceNumber: undefined },
    };

    await expect(ledger(batch(withoutSequence))).rejects.toThrow(/SequenceNumber/);
  });

  it('answers an empty batch with no failures', async () => {
    const { ledger } = setup();
    await expect(ledger(batch())).resolves.toEqual({ batchItemFailures: [] });
  });
});
