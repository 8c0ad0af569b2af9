import { describe, expect, it } from 'vitest';
import type { TokenEvent } from '../../../lambdas/core/notifications/events.js';
import {
  CLAIM_LEASE_SECONDS,
  idempotencyExpiresAt,
  idempotencyKeyOf,
  STREAM_EVENT_RETENTION_SECONDS,
} from '../../../lambdas/core/notifications/idempotency.js';
import {
  COMPLETE_ATTEMPTS,
  DeliveryInProgressError,
  deliverOnce,
} from '../../../lambdas/core/notifications/notifier.js';
import { MIN_REMAINING_MS_PER_RECORD } from '../../../lambdas/notifier/stream-notifier.js';
import { SDK_CALL_MAX_MS } from '../../../lambdas/runtime/sdk-options.js';
import { fixedClock, issueToken, MemoryIdempotencyStore, RecordingMailer } from './support.js';

const NOW = new Date('2026-06-01T08:00:00.000Z');

function event(kind: TokenEvent['kind'], overrides: Partial<TokenEvent> = {}): TokenEvent {
  const { token } = issueToken({ id: 'tok_0000000000000000000001', expiresAt: '2026-06-20T00:00:00.000Z' });
  return {
    kind,
    token: { ...token, expiresAt: token.expiresAt },
    recipient: 'owner@example.com',
    occurredAt: '2026-06-01T07:59:00.000Z',
    actor: 'owner',
    sourceIp: undefined,
    userAgent: undefined,
    bulk: false,
    ...overrides,
  };
}

describe('idempotency keys', () => {
  it('one-time events by token, rotations by time, reminders by expiry', () => {
    expect(idempotencyKeyOf(event('created'))).toBe('created#tok_0000000000000000000001');
    expect(idempotencyKeyOf(event('revoked'))).toBe('revoked#tok_0000000000000000000001');
    expect(idempotencyKeyOf(event('expired'))).toBe('expired#tok_0000000000000000000001');
    expect(idempotencyKeyOf(event('rotated'))).toBe(
      'rotated#tok_0000000000000000000001#2026-06-01T07:59:00.000Z',
    );
    expect(idempotencyKeyOf(event('reminder'))).toBe(
      'reminder#tok_0000000000000000000001#2026-06-20T00:00:00.000Z',
    );
  });

  it('revoked twice (two records, two times) is one key; two rotations are two', () => {
    const first = event('revoked', { occurredAt: '2026-06-01T07:59:00.000Z' });
    const second = event('revoked', { occurredAt: '2026-06-01T08:05:00.000Z' });
    expect(idempotencyKeyOf(first)).toBe(idempotencyKeyOf(second));
    expect(idempotencyKeyOf(event('rotated', { occurredAt: 'a' }))).not.toBe(
      idempotencyKeyOf(event('rotated', { occurredAt: 'b' })),
    );
  });

  it('keeps stream records a week and reminders a week past the expiry', () => {
    const nowSeconds = NOW.getTime() / 1000;
    expect(idempotencyExpiresAt(event('created'), NOW)).toBe(nowSeconds + STREAM_EVENT_RETENTION_SECONDS);
    expect(idempotencyExpiresAt(event('reminder'), NOW)).toBe(
      Date.parse('2026-06-20T00:00:00.000Z') / 1000 + STREAM_EVENT_RETENTION_SECONDS,
    );
  });
});

describe('deliverOnce', () => {
  function setup() {
    const store = new MemoryIdempotencyStore();
    const mailer = new RecordingMailer();
    const clock = fixedClock(NOW);
    return { store, mailer, clock, deps: { store, mailer, clock, sleep: async () => undefined } };
  }

  it('sends once; the same event again is a duplicate', async () => {
    const { deps, mailer, store } = setup();
    await expect(deliverOnce(event('created'), deps)).resolves.toEqual({
      status: 'sent',
      messageId: 'message-1',
    });
    await expect(deliverOnce(event('created'), deps)).resolves.toEqual({ status: 'duplicate' });
    expect(mailer.sent).toHaveLength(1);
    expect(mailer.sent[0]?.to).toBe('owner@example.com');
    expect(store.records.get('created#tok_0000000000000000000001')?.status).toBe('sent');
  });

  it('a failed send releases the claim and rejects; the retry sends', async () => {
    const { deps, mailer, store } = setup();
    const throttled = Object.assign(new Error('Maximum sending rate exceeded.'), {
      name: 'ThrottlingException',
    });
    mailer.failures.push(throttled);
    await expect(deliverOnce(event('revoked'), deps)).rejects.toThrow('Maximum sending rate exceeded.');
    expect(store.records.size).toBe(0);
    await expect(deliverOnce(event('revoked'), deps)).resolves.toMatchObject({ status: 'sent' });
    expect(mailer.sent).toHaveLength(1);
  });

  it('a live claim of another delivery → in progress (retry later); a lapsed one is maybe sent: marked, never sent again', async () => {
    const { deps, mailer, store, clock } = setup();
    const maybeSent: string[] = [];
    await store.claim({
      key: 'expired#tok_0000000000000000000001',
      kind: 'expired',
      tokenId: 'tok_0000000000000000000001',
      now: NOW,
      leaseUntilMs: NOW.getTime() + CLAIM_LEASE_SECONDS * 1000,
      expiresAt: 0,
    });
    await expect(deliverOnce(event('expired'), deps)).rejects.toBeInstanceOf(DeliveryInProgressError);
    expect(mailer.sent).toHaveLength(0);
    clock.advance(CLAIM_LEASE_SECONDS * 1000 + 1);
    await expect(
      deliverOnce(event('expired'), { ...deps, onMaybeSent: (n) => maybeSent.push(n.key) }),
    ).resolves.toEqual({ status: 'maybe-sent' });
    expect(mailer.sent).toHaveLength(0);
    expect(maybeSent).toEqual(['expired#tok_0000000000000000000001']);
    expect(store.records.get('expired#tok_0000000000000000000001')).toMatchObject({
      status: 'sent',
      maybeSent: true,
    });
    await expect(deliverOnce(event('expired'), deps)).resolves.toEqual({ status: 'duplicate' });
  });

  it('waits for a live claim while it has the time: the holder marks it sent → duplicate, no second send', async () => {
    const { deps, mailer, store, clock } = setup();
    const claim = await store.claim({
      key: 'created#tok_0000000000000000000001',
      kind: 'created',
      tokenId: 'tok_0000000000000000000001',
      now: NOW,
      leaseUntilMs: NOW.getTime() + CLAIM_LEASE_SECONDS * 1000,
      expiresAt: 0,
    });
    if (claim.status !== 'claimed') throw new Error('not claimed');
    let waited = 0;
    const outcome = deliverOnce(event('created'), {
      ...deps,
      waitBudgetMs: () => 200_000 - waited,
      sleep: async (ms) => {
        waited += ms;
        clock.advance(ms);
        // The holder finishes after a few seconds.
        if (waited >= 5_000) await store.complete('created#tok_0000000000000000000001', claim.claimId);
      },
    });
    await expect(outcome).resolves.toEqual({ status: 'duplicate' });
    expect(mailer.sent).toHaveLength(0);
    expect(waited).toBeGreaterThanOrEqual(5_000);
    expect(waited).toBeLessThan(CLAIM_LEASE_SECONDS * 1000);
  });

  it('a failed mark never yields a second email: retried, then the lapsed claim is maybe sent', async () => {
    const { deps, mailer, store, clock } = setup();
    const failures: unknown[] = [];
    let marks = 0;
    const broken = Object.assign(Object.create(store) as MemoryIdempotencyStore, {
      complete: async () => {
        marks += 1;
        throw new Error('DynamoDB unavailable');
      },
    });
    const flaky = { ...deps, store: broken, sleep: async () => undefined };
    await expect(
      deliverOnce(event('created'), { ...flaky, onCompleteFailed: (error) => failures.push(error) }),
    ).resolves.toMatchObject({ status: 'sent' });
    expect(marks).toBe(COMPLETE_ATTEMPTS);
    expect(failures).toHaveLength(1);
    // The stream delivers the record again within the lease, and after it.
    await expect(deliverOnce(event('created'), flaky)).rejects.toBeInstanceOf(DeliveryInProgressError);
    clock.advance(CLAIM_LEASE_SECONDS * 1000 + 1);
    await expect(deliverOnce(event('created'), flaky)).resolves.toEqual({ status: 'maybe-sent' });
    await expect(deliverOnce(event('created'), flaky)).resolves.toEqual({ status: 'duplicate' });
    expect(mailer.sent).toHaveLength(1);
  });
});

describe('the lease and the retry schedule fit together', () => {
  it('a claim outlives its holder (claim, send, release: three SDK calls at their worst)', () => {
    expect(CLAIM_LEASE_SECONDS * 1000).toBeGreaterThan(3 * SDK_CALL_MAX_MS);
  });

  it('a notifier invocation can wait out a whole lease and still deliver (5-minute timeout)', () => {
    const notifierTimeoutMs = 5 * 60_000;
    expect(notifierTimeoutMs - MIN_REMAINING_MS_PER_RECORD).toBeGreaterThan(CLAIM_LEASE_SECONDS * 1000);
    expect(MIN_REMAINING_MS_PER_RECORD).toBeGreaterThanOrEqual(3 * SDK_CALL_MAX_MS);
  });
});
