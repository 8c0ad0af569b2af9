import { describe, expect, it } from 'vitest';
import { utcDaysBetween } from '../../../lambdas/adapters/expiring-tokens-query.js';
import type { TokenRecord } from '../../../lambdas/core/model.js';
import {
  DEFAULT_REMINDER_WINDOW_DAYS,
  type ExpiringTokens,
  parseReminderWindowDays,
  runReminders,
} from '../../../lambdas/core/notifications/reminders.js';
import { fixedClock, issueToken, MemoryIdempotencyStore, RecordingMailer } from './support.js';

const DAY_MS = 86_400_000;
const NOW = new Date('2026-06-01T08:00:00.000Z');
const at = (days: number) => new Date(NOW.getTime() + days * DAY_MS).toISOString();

class ListedTokens implements ExpiringTokens {
  constructor(readonly tokens: TokenRecord[]) {}
  async *expiringBetween(from: Date, to: Date): AsyncIterable<TokenRecord> {
    for (const token of this.tokens) {
      const expires = token.expiresAt === null ? Number.NaN : Date.parse(token.expiresAt);
      if (expires >= from.getTime() && expires <= to.getTime()) yield token;
    }
  }
}

describe('reminder run', () => {
  const due = [1, 3, 6.5].map((days) => issueToken({ createdAt: at(-60), expiresAt: at(days) }).token);
  const notDue = [
    issueToken({ createdAt: at(-60), expiresAt: at(9) }).token, // outside the window
    issueToken({ createdAt: at(-60), expiresAt: at(2), state: 'revoked' }).token,
    issueToken({ createdAt: at(-60), expiresAt: at(2), ownerEmail: undefined }).token,
    issueToken({ createdAt: at(-1), expiresAt: at(6) }).token, // a fresh 7-day token
  ];

  it('reminds every due token once, however often it runs', async () => {
    const store = new MemoryIdempotencyStore();
    const mailer = new RecordingMailer();
    const clock = fixedClock(NOW);
    const deps = { tokens: new ListedTokens([...due, ...notDue]), store, mailer, clock, windowDays: 7 };

    await expect(runReminders(deps)).resolves.toEqual({
      considered: 6,
      sent: 3,
      alreadySent: 0,
      notDue: 3,
      failed: 0,
      complete: true,
    });
    await expect(runReminders(deps)).resolves.toMatchObject({ sent: 0, alreadySent: 3 });
    clock.advance(DAY_MS / 2);
    await expect(runReminders(deps)).resolves.toMatchObject({ sent: 0 });
    expect(mailer.sent.map((email) => email.subject)).toHaveLength(3);
    expect(new Set(mailer.sent.map((email) => email.subject)).size).toBe(3);
  });

  it('a token whose expiry moved gets a reminder for the new expiry', async () => {
    const store = new MemoryIdempotencyStore();
    const mailer = new RecordingMailer();
    const [first] = due;
    if (first === undefined) throw new Error('no token');
    const deps = { store, mailer, clock: fixedClock(NOW), windowDays: 7 };
    await runReminders({ ...deps, tokens: new ListedTokens([first]) });
    await runReminders({ ...deps, tokens: new ListedTokens([{ ...first, expiresAt: at(4) }]) });
    expect(mailer.sent).toHaveLength(2);
  });

  it('counts failures, sends the rest, and a later run sends what failed', async () => {
    const store = new MemoryIdempotencyStore();
    const mailer = new RecordingMailer();
    mailer.failures.push(Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' }));
    const failed: string[] = [];
    const deps = {
      tokens: new ListedTokens(due),
      store,
      mailer,
      clock: fixedClock(NOW),
      windowDays: 7,
      concurrency: 1,
      onFailure: (_error: unknown, token: TokenRecord) => failed.push(token.id),
    };
    await expect(runReminders(deps)).resolves.toMatchObject({ sent: 2, failed: 1 });
    expect(failed).toHaveLength(1);
    await expect(runReminders(deps)).resolves.toMatchObject({ sent: 1, alreadySent: 2, failed: 0 });
    expect(mailer.sent).toHaveLength(3);
  });

  it('starts no reminder with too little time left, and says the run is incomplete', async () => {
    const mailer = new RecordingMailer();
    let remaining = 60_000;
    const deps = {
      tokens: new ListedTokens(due),
      store: new MemoryIdempotencyStore(),
      mailer,
      clock: fixedClock(NOW),
      windowDays: 7,
      concurrency: 1,
      remainingTimeMs: () => {
        remaining -= 20_000;
        return remaining;
      },
    };
    await expect(runReminders(deps)).resolves.toMatchObject({ sent: 1, complete: false });
    expect(mailer.sent).toHaveLength(1);
  });

  it('reads the window from the env, 7 days by default', () => {
    expect(parseReminderWindowDays(undefined, 'X')).toBe(DEFAULT_REMINDER_WINDOW_DAYS);
    expect(parseReminderWindowDays('', 'X')).toBe(7);
    expect(parseReminderWindowDays('14', 'X')).toBe(14);
    for (const bad of ['0', '-1', '1.5', 'seven', '61']) {
      expect(() => parseReminderWindowDays(bad, 'REMINDER_WINDOW_DAYS')).toThrow(/REMINDER_WINDOW_DAYS/);
    }
  });

  it('queries every UTC day of the window', () => {
    expect(utcDaysBetween(new Date('2026-06-01T23:59:00Z'), new Date('2026-06-03T00:00:00Z'))).toEqual([
      '2026-06-01',
      '2026-06-02',
      '2026-06-03',
    ]);
    expect(utcDaysBetween(NOW, new Date(NOW.getTime() + 7 * DAY_MS))).toHaveLength(8);
  });
});
