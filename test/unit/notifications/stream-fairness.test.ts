import type { DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import type { Mailer, OutgoingEmail } from '../../../lambdas/core/notifications/notifier.js';
import { fixedSendRate, SendPacer } from '../../../lambdas/core/notifications/pacing.js';
import { createStreamNotifier } from '../../../lambdas/notifier/stream-notifier.js';
import { scaled } from '../../support/time.js';
import { batch, fixedClock, insertOf, issueToken, MemoryIdempotencyStore } from './support.js';

// One user's burst must not hold back, or use up SES for, everyone else: sends are fair per
// recipient, paced, and only the records whose email failed are reported.

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

function throttling(): Error {
  return Object.assign(new Error('Maximum sending rate exceeded.'), {
    name: 'Throttling',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}

/** Records every send in order; refuses the recipients in `refuse` after their first `allow` sends. */
class SelectiveMailer implements Mailer {
  readonly sent: OutgoingEmail[] = [];
  readonly attempts: string[] = [];
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly refuse: ReadonlySet<string> = new Set(),
    private readonly allow = 1,
  ) {}

  async send(email: OutgoingEmail) {
    this.attempts.push(email.to);
    const count = (this.counts.get(email.to) ?? 0) + 1;
    this.counts.set(email.to, count);
    if (this.refuse.has(email.to) && count > this.allow) throw throttling();
    this.sent.push(email);
    return { messageId: `m-${this.sent.length}` };
  }
}

const burstOf = (owner: string, count: number) =>
  Array.from({ length: count }, () => issueToken({ ownerEmail: owner }).token);

const sequenceNumbers = (event: DynamoDBStreamEvent, indexes: number[]) =>
  indexes.map((index) => ({ itemIdentifier: event.Records[index]?.dynamodb?.SequenceNumber }));

describe('stream notifier: fairness, pacing, partial failures', () => {
  it("one user's throttled burst: the other users' emails go out, only the burst's failed records are reported", async () => {
    const alice = burstOf('alice@example.com', 8);
    const bob = burstOf('bob@example.com', 2);
    // Alice's create loop first in the stream, Bob's records behind it.
    const event = batch(...[...alice, ...bob].map(insertOf));
    const mailer = new SelectiveMailer(new Set(['alice@example.com']));
    const notify = createStreamNotifier({
      mailer,
      store: new MemoryIdempotencyStore(),
      clock: fixedClock(new Date()),
      logger: silent,
      sleep: async () => undefined,
    });

    const result = await notify(event);

    expect(mailer.sent.filter((email) => email.to === 'bob@example.com')).toHaveLength(2);
    // Alice: the first went out, the second was refused, the rest not tried (they would come out
    // of order): reported, from her second record on. Bob's records are not reported.
    expect(mailer.attempts.filter((to) => to === 'alice@example.com')).toHaveLength(2);
    expect(result.batchItemFailures).toEqual(sequenceNumbers(event, [1, 2, 3, 4, 5, 6, 7]));
  });

  it('takes turns: with one send at a time, the recipients alternate instead of one burst going first', async () => {
    const alice = burstOf('alice@example.com', 4);
    const bob = burstOf('bob@example.com', 2);
    const mailer = new SelectiveMailer();
    const notify = createStreamNotifier({
      mailer,
      store: new MemoryIdempotencyStore(),
      clock: fixedClock(new Date()),
      logger: silent,
      concurrency: 1,
    });

    await expect(notify(batch(...[...alice, ...bob].map(insertOf)))).resolves.toEqual({
      batchItemFailures: [],
    });
    expect(mailer.attempts).toEqual([
      'alice@example.com',
      'bob@example.com',
      'alice@example.com',
      'bob@example.com',
      'alice@example.com',
      'alice@example.com',
    ]);
  });

  it("paces the starts of sends to SES's rate", async () => {
    let nowMs = 0;
    const starts: number[] = [];
    const pacer = new SendPacer(fixedSendRate(4), 1, {
      nowMs: () => nowMs,
      sleep: async (ms) => {
        nowMs += ms;
      },
    });
    const mailer: Mailer = {
      send: async () => {
        starts.push(nowMs);
        return { messageId: 'm' };
      },
    };
    const notify = createStreamNotifier({
      mailer,
      store: new MemoryIdempotencyStore(),
      clock: fixedClock(new Date()),
      logger: silent,
      pacer,
    });
    await notify(batch(...burstOf('carol@example.com', 5).map(insertOf)));
    expect(starts).toEqual([0, 250, 500, 750, 1000]);
  });

  it('a wall clock that jumps ahead and back (a faked or corrected Date) does not hold later sends back', async () => {
    const pacer = new SendPacer(fixedSendRate(1));
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 86_400_000);
      await pacer.acquire();
    } finally {
      vi.useRealTimers();
    }
    // At 1 email per second the next start is due at most a second after the first, whatever Date said.
    const next = pacer.acquire();
    const outcome = await Promise.race([
      next.then(() => 'sent' as const),
      new Promise<'held'>((resolve) => setTimeout(() => resolve('held'), scaled(5_000))),
    ]);
    expect(outcome).toBe('sent');
  });
});
