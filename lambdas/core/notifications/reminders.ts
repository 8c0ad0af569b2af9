import type { TokenRecord } from '../model.js';
import { type OwnerContacts, recipientOf } from './contacts.js';
import { isDueForReminder, REMINDER_RUN_INTERVAL_MS, reminderEventFor } from './events.js';
import { type DeliveryOutcome, deliverNotification, type NotifierDeps, notificationOf } from './notifier.js';
import { ConcurrencyLimit } from './pacing.js';

// The daily reminders: every token that expires within the window gets one reminder, however often
// the job runs (the idempotency record is keyed by token and expiry), at any number of tokens.
//
// The scheduled run only plans: one task per UTC expiry day of the window, on a queue. Workers take
// the tasks: a page of one day's tokens (byExpiryDay index), re-read strongly consistently (so a
// token revoked or edited a moment ago gets no reminder), each due token's reminder sent at the
// worker's share of SES's send rate; then the day's next page goes on the queue. A reminder that
// failed, or that the worker had no time for, goes back on the queue as a task of its own (by token
// id, with a delay), so one bad address never holds back the rest of its day. At SES's rate of R
// emails per second, N due tokens take N / (R × the reminders' share) seconds: 100,000 at 14/s and
// half the rate take two hours (docs/performance.md).

export const DEFAULT_REMINDER_WINDOW_DAYS = 7;
export const MAX_REMINDER_WINDOW_DAYS = 60;
/**
 * How many reminder workers run at once: the reminder queue's event source (maxConcurrency,
 * lib/constructs/notifications.ts) and the load scenario (load/reminders.ts) both use this.
 */
export const REMINDER_WORKERS = 2;
/** The part of SES's send rate the reminders take, all workers together; the notifier has the rest. */
export const REMINDER_RATE_SHARE = 0.5;
/** Tokens per page task. */
const REMINDER_PAGE_SIZE = 100;
/** A token's reminder is retried this many times (as retry tasks) before its task fails for good. */
export const MAX_REMINDER_ATTEMPTS = 5;

const DAY_MS = 86_400_000;

/** One unit of work on the reminder queue. */
export type ReminderTask =
  | { readonly type: 'page'; readonly day: string; readonly cursor?: string }
  | {
      readonly type: 'retry';
      readonly day: string;
      readonly tokenIds: readonly string[];
      /** How many times these tokens were tried already. */
      readonly attempt: number;
    };

export interface ReminderQueue {
  /** Puts tasks on the queue; a retry task becomes visible after a delay. */
  enqueue(tasks: readonly ReminderTask[]): Promise<void>;
}

/**
 * The ids of the tokens that expire on a UTC day (the byExpiryDay index, which copies only keys),
 * revoked ones included; eventually consistent. The worker reads each token again before deciding.
 */
export interface ExpiringTokens {
  page(
    day: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ readonly tokenIds: readonly string[]; readonly cursor: string | undefined }>;
}

/** Strongly consistent reads of tokens by id; a missing (deleted) token is left out. */
export interface TokenLookup {
  getMany(tokenIds: readonly string[]): Promise<ReadonlyMap<string, TokenRecord>>;
}

interface ReminderDeps extends NotifierDeps {
  readonly windowDays: number;
  readonly queue: ReminderQueue;
}

export interface ReminderWorkerDeps extends ReminderDeps {
  readonly tokens: ExpiringTokens;
  readonly lookup: TokenLookup;
  readonly contacts?: OwnerContacts;
  /** Sends at once. @default 4 */
  readonly concurrency?: number;
  /** @default REMINDER_RUN_INTERVAL_MS (daily) */
  readonly runIntervalMs?: number;
  /** @default REMINDER_PAGE_SIZE */
  readonly pageSize?: number;
  /**
   * The invocation's time left beyond what one reminder needs: no reminder starts when it is
   * negative (it goes on the queue instead). @default unlimited
   */
  readonly spareTimeMs?: () => number;
  readonly onFailure?: (error: unknown, tokenId: string) => void;
}

export interface ReminderPageResult {
  /** Tokens this task looked at. */
  readonly considered: number;
  readonly sent: number;
  /** Due, but reminded already (an earlier run), or maybe sent. */
  readonly alreadySent: number;
  /** Not due: revoked, expired, gone, no address, first half of its life, outside the window. */
  readonly notDue: number;
  readonly failed: number;
  /** Put back on the queue: failed or not started for lack of time. */
  readonly requeued: number;
}

/** Thrown when a retry task's tokens failed too often: the task goes to the dead-letter queue. */
export class ReminderRetriesExhaustedError extends Error {
  constructor(readonly tokenIds: readonly string[]) {
    super(`${tokenIds.length} reminder(s) failed ${MAX_REMINDER_ATTEMPTS} times`);
    this.name = 'ReminderRetriesExhaustedError';
  }
}

export function parseReminderWindowDays(raw: string | undefined, name: string): number {
  if (raw === undefined || raw === '') return DEFAULT_REMINDER_WINDOW_DAYS;
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 1 || days > MAX_REMINDER_WINDOW_DAYS) {
    throw new Error(
      `${name} must be a whole number of days from 1 to ${MAX_REMINDER_WINDOW_DAYS}, got "${raw}"`,
    );
  }
  return days;
}

/** The UTC days (`yyyy-mm-dd`) from `from`'s to `to`'s, both included. */
export function utcDaysBetween(from: Date, to: Date): string[] {
  const days: string[] = [];
  const start = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
  for (let day = start; day <= to.getTime(); day += DAY_MS) {
    days.push(new Date(day).toISOString().slice(0, 10));
  }
  return days;
}

/** The scheduled run: one page task per UTC expiry day of the window. */
export async function planReminders(
  deps: Pick<ReminderDeps, 'clock' | 'windowDays' | 'queue'>,
): Promise<{ readonly days: readonly string[] }> {
  const now = deps.clock.now();
  const days = utcDaysBetween(now, new Date(now.getTime() + deps.windowDays * DAY_MS));
  await deps.queue.enqueue(days.map((day) => ({ type: 'page', day })));
  return { days };
}

/**
 * A worker's task: the page's (or the retry's) tokens, re-read consistently, each due one reminded
 * once; the next page and anything to retry back on the queue. Throws only when a retry task has
 * used up its attempts (or the queue fails).
 */
export async function runReminderTask(
  deps: ReminderWorkerDeps,
  task: ReminderTask,
): Promise<ReminderPageResult> {
  const now = deps.clock.now();
  const interval = deps.runIntervalMs ?? REMINDER_RUN_INTERVAL_MS;
  const due = (token: TokenRecord) => isDueForReminder(token, now, deps.windowDays, interval);
  const counts = { considered: 0, sent: 0, alreadySent: 0, notDue: 0, failed: 0, requeued: 0 };

  let candidates: string[];
  let next: ReminderTask | undefined;
  if (task.type === 'page') {
    const page = await deps.tokens.page(task.day, task.cursor, deps.pageSize ?? REMINDER_PAGE_SIZE);
    counts.considered = page.tokenIds.length;
    candidates = [...page.tokenIds];
    if (page.cursor !== undefined) next = { type: 'page', day: task.day, cursor: page.cursor };
  } else {
    counts.considered = task.tokenIds.length;
    candidates = [...task.tokenIds];
  }

  // Read (again, for a retry), strongly consistently: the index holds only keys, and may be behind
  // a revocation or an edit.
  const current =
    candidates.length === 0 ? new Map<string, TokenRecord>() : await deps.lookup.getMany(candidates);
  const retry: string[] = [];
  const limit = new ConcurrencyLimit(deps.concurrency ?? 4);
  const spare = deps.spareTimeMs ?? (() => Number.POSITIVE_INFINITY);
  await Promise.all(
    candidates.map((id) =>
      limit.run(async () => {
        const token = current.get(id);
        if (token === undefined || !due(token)) {
          counts.notDue += 1;
          return;
        }
        const recipient = await recipientOf(deps.contacts, token);
        const event =
          recipient === undefined ? undefined : reminderEventFor({ ...token, ownerEmail: recipient }, now);
        if (event === undefined) {
          counts.notDue += 1;
          return;
        }
        if (spare() < 0) {
          retry.push(id);
          return;
        }
        let outcome: DeliveryOutcome;
        try {
          outcome = await deliverNotification(notificationOf(event, now, deps.template), {
            ...deps,
            waitBudgetMs: spare,
          });
        } catch (error) {
          counts.failed += 1;
          deps.onFailure?.(error, id);
          retry.push(id);
          return;
        }
        if (outcome.status === 'sent') counts.sent += 1;
        else counts.alreadySent += 1;
      }),
    ),
  );

  const attempt = task.type === 'retry' ? task.attempt + 1 : 1;
  const tasks: ReminderTask[] = next === undefined ? [] : [next];
  if (retry.length > 0 && attempt < MAX_REMINDER_ATTEMPTS) {
    tasks.push({ type: 'retry', day: task.day, tokenIds: retry, attempt });
  }
  if (tasks.length > 0) await deps.queue.enqueue(tasks);
  counts.requeued = attempt < MAX_REMINDER_ATTEMPTS ? retry.length : 0;
  if (retry.length > 0 && attempt >= MAX_REMINDER_ATTEMPTS) throw new ReminderRetriesExhaustedError(retry);
  return counts;
}
