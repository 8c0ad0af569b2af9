import { describe, expect, it } from 'vitest';
import type { TokenRecord } from '../../../lambdas/core/model.js';
import {
  DEFAULT_REMINDER_WINDOW_DAYS,
  type ExpiringTokens,
  MAX_REMINDER_ATTEMPTS,
  parseReminderWindowDays,
  planReminders,
  type ReminderQueue,
  ReminderRetriesExhaustedError,
  type ReminderTask,
  runReminderTask,
  type TokenLookup,
  utcDaysBetween,
} from '../../../lambdas/core/notifications/reminders.js';
import { fixedClock, issueToken, MemoryIdempotencyStore, RecordingMailer } from './support.js';

const DAY_MS = 86_400_000;
const NOW = new Date('2026-06-01T08:00:00.000Z');
const at = (days: number) => new Date(NOW.getTime() + days * DAY_MS).toISOString();

/** The byExpiryDay index in memory: pages of one day, in expiry order; `stale` entries win. */
class ListedTokens implements ExpiringTokens, TokenLookup {
  /** What the index shows when it lags behind the table (by token id). */
  readonly stale = new Map<string, TokenRecord>();

  constructor(readonly tokens: TokenRecord[]) {}

  async page(day: string, cursor: string | undefined, limit: number) {
    const ofDay = this.tokens
      .map((token) => this.stale.get(token.id) ?? token)
      .filter((token) => token.expiresAt?.slice(0, 10) === day)
      .sort((a, b) => (a.expiresAt ?? '').localeCompare(b.expiresAt ?? ''));
    const start = cursor === undefined ? 0 : Number(cursor);
    const tokenIds = ofDay.slice(start, start + limit).map((token) => token.id);
    return { tokenIds, cursor: start + limit < ofDay.length ? String(start + limit) : undefined };
  }

  async getMany(ids: readonly string[]) {
    return new Map(this.tokens.filter((token) => ids.includes(token.id)).map((token) => [token.id, token]));
  }
}

class MemoryQueue implements ReminderQueue {
  readonly tasks: ReminderTask[] = [];
  async enqueue(tasks: readonly ReminderTask[]) {
    this.tasks.push(...tasks);
  }
}

function setup(tokens: TokenRecord[], overrides: { pageSize?: number } = {}) {
  const listed = new ListedTokens(tokens);
  const queue = new MemoryQueue();
  const store = new MemoryIdempotencyStore();
  const mailer = new RecordingMailer();
  const clock = fixedClock(NOW);
  const deps = {
    tokens: listed,
    lookup: listed,
    queue,
    store,
    mailer,
    clock,
    windowDays: 7,
    sleep: async () => undefined,
    ...overrides,
  };
  /** The scheduled run, then every queued task until the queue is empty (as the workers would). */
  const runDay = async () => {
    await planReminders(deps);
    const results = [];
    while (queue.tasks.length > 0) {
      const task = queue.tasks.shift();
      if (task !== undefined) results.push(await runReminderTask(deps, task));
    }
    return results;
  };
  return { listed, queue, store, mailer, clock, deps, runDay };
}

const total = (results: { sent: number; alreadySent: number; failed: number; notDue: number }[]) =>
  results.reduce(
    (sum, r) => ({
      sent: sum.sent + r.sent,
      alreadySent: sum.alreadySent + r.alreadySent,
      failed: sum.failed + r.failed,
      notDue: sum.notDue + r.notDue,
    }),
    { sent: 0, alreadySent: 0, failed: 0, notDue: 0 },
  );

describe('reminder run', () => {
  const due = [1, 3, 6.5].map((days) => issueToken({ createdAt: at(-60), expiresAt: at(days) }).token);
  const notDue = [
    issueToken({ createdAt: at(-60), expiresAt: at(9) }).token, // outside the window
    issueToken({ createdAt: at(-60), expiresAt: at(2), state: 'revoked' }).token,
    issueToken({ createdAt: at(-60), expiresAt: at(2), ownerEmail: undefined }).token,
    issueToken({ createdAt: at(-1), expiresAt: at(6) }).token, // a fresh 7-day token
  ];

  it('plans one page task per UTC day of the window', async () => {
    const { deps, queue } = setup([]);
    await expect(planReminders(deps)).resolves.toEqual({ days: utcDaysBetween(NOW, new Date(at(7))) });
    expect(queue.tasks).toHaveLength(8);
    expect(queue.tasks[0]).toEqual({ type: 'page', day: '2026-06-01' });
  });

  it('reminds every due token once, however often it runs', async () => {
    const { runDay, mailer, clock } = setup([...due, ...notDue]);
    expect(total(await runDay())).toMatchObject({ sent: 3, failed: 0 });
    expect(total(await runDay())).toMatchObject({ sent: 0, alreadySent: 3 });
    clock.advance(DAY_MS / 2);
    expect(total(await runDay())).toMatchObject({ sent: 0 });
    expect(mailer.sent).toHaveLength(3);
    expect(new Set(mailer.sent.map((email) => email.subject)).size).toBe(3);
  });

  it('pages through a day: the next page goes on the queue, every due token is reminded', async () => {
    const many = Array.from(
      { length: 25 },
      (_, i) => issueToken({ createdAt: at(-60), expiresAt: at(2 + i / 1000) }).token,
    );
    const { runDay, mailer } = setup(many, { pageSize: 4 });
    const results = await runDay();
    expect(total(results).sent).toBe(25);
    expect(mailer.sent).toHaveLength(25);
  });

  it('re-reads each candidate: a token revoked after the index was read gets no reminder', async () => {
    const [first, second] = due;
    if (first === undefined || second === undefined) throw new Error('no tokens');
    const revokedNow: TokenRecord = { ...first, state: 'revoked', revokedAt: NOW.toISOString() };
    const { runDay, mailer, listed } = setup([revokedNow, second]);
    // The index still shows it active.
    listed.stale.set(first.id, first);
    expect(total(await runDay())).toMatchObject({ sent: 1 });
    expect(mailer.sent.map((email) => email.text).join()).not.toContain(first.id);
  });

  it('a token whose expiry moved gets a reminder for the new expiry', async () => {
    const [first] = due;
    if (first === undefined) throw new Error('no token');
    const { runDay, mailer, listed } = setup([first]);
    await runDay();
    listed.tokens[0] = { ...first, expiresAt: at(4) };
    await runDay();
    expect(mailer.sent).toHaveLength(2);
  });

  it('a failed reminder goes back on the queue as a retry task; the rest of the day goes on', async () => {
    const { runDay, mailer, queue, deps } = setup(due);
    mailer.failures.push(Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' }));
    await planReminders(deps);
    const results = [];
    let retryTask: ReminderTask | undefined;
    while (queue.tasks.length > 0) {
      const task = queue.tasks.shift();
      if (task === undefined) break;
      if (task.type === 'retry') retryTask = task;
      results.push(await runReminderTask(deps, task));
    }
    expect(total(results)).toMatchObject({ sent: 3, failed: 1 });
    expect(retryTask).toMatchObject({ type: 'retry', attempt: 1 });
    expect(mailer.sent).toHaveLength(3);
    expect(total(await runDay())).toMatchObject({ sent: 0, alreadySent: 3 });
  });

  it('a reminder that keeps failing fails its task for good after the last attempt (dead-letter queue)', async () => {
    const [first] = due;
    if (first === undefined) throw new Error('no token');
    const { deps, mailer, queue } = setup([first]);
    mailer.failures.push(...Array.from({ length: 10 }, () => new Error('MessageRejected')));
    await expect(
      runReminderTask(deps, {
        type: 'retry',
        day: first.expiresAt?.slice(0, 10) ?? '',
        tokenIds: [first.id],
        attempt: MAX_REMINDER_ATTEMPTS - 1,
      }),
    ).rejects.toBeInstanceOf(ReminderRetriesExhaustedError);
    expect(queue.tasks).toEqual([]);
  });

  it('starts no reminder without time for it: it goes back on the queue', async () => {
    const { deps, mailer, queue } = setup(due);
    const day = due[0]?.expiresAt?.slice(0, 10) ?? '';
    const result = await runReminderTask({ ...deps, spareTimeMs: () => -1 }, { type: 'page', day });
    expect(result).toMatchObject({ sent: 0, requeued: 1 });
    expect(mailer.sent).toHaveLength(0);
    expect(queue.tasks).toEqual([{ type: 'retry', day, tokenIds: [due[0]?.id], attempt: 1 }]);
  });

  it('reads the window from the env, 7 days by default', () => {
    expect(parseReminderWindowDays(undefined, 'X')).toBe(DEFAULT_REMINDER_WINDOW_DAYS);
    expect(parseReminderWindowDays('', 'X')).toBe(7);
    expect(parseReminderWindowDays('14', 'X')).toBe(14);
    for (const bad of ['0', '-1', '1.5', 'seven', '61']) {
      expect(() => parseReminderWindowDays(bad, 'REMINDER_WINDOW_DAYS')).toThrow(/REMINDER_WINDOW_DAYS/);
    }
  });

  it('covers every UTC day of the window', () => {
    expect(utcDaysBetween(new Date('2026-06-01T23:59:00Z'), new Date('2026-06-03T00:00:00Z'))).toEqual([
      '2026-06-01',
      '2026-06-02',
      '2026-06-03',
    ]);
    expect(utcDaysBetween(NOW, new Date(NOW.getTime() + 7 * DAY_MS))).toHaveLength(8);
  });
});

describe('a mark that fails never yields a second reminder', () => {
  it('the next day finds the claim lapsed: maybe sent, marked, not sent again', async () => {
    const [token] = [issueToken({ createdAt: at(-60), expiresAt: at(3) }).token];
    if (token === undefined) throw new Error('no token');
    const { deps, runDay, mailer, store, clock } = setup([token]);
    const maybeSent: string[] = [];
    let failMarks = true;
    const flaky = Object.assign(Object.create(store) as MemoryIdempotencyStore, {
      complete: async (key: string, claimId: string) => {
        if (failMarks) throw new Error('DynamoDB unavailable');
        return store.complete(key, claimId);
      },
    });
    Object.assign(deps, { store: flaky, onMaybeSent: (n: { key: string }) => maybeSent.push(n.key) });
    expect(total(await runDay())).toMatchObject({ sent: 1 });
    failMarks = false;
    clock.advance(DAY_MS);
    expect(total(await runDay())).toMatchObject({ sent: 0, alreadySent: 1 });
    expect(mailer.sent).toHaveLength(1);
    expect(maybeSent).toEqual([`reminder#${token.id}#${token.expiresAt}`]);
    expect([...store.records.values()][0]).toMatchObject({ status: 'sent', maybeSent: true });
  });
});
