import type { TokenRecord } from '../model.js';
import { isDueForReminder, reminderEventFor } from './events.js';
import { type DeliveryOutcome, deliverOnce, type NotifierDeps } from './notifier.js';

// The daily reminder run: every token that expires within the window gets one reminder, however
// often the job runs (the idempotency record is keyed by token and expiry).

export const DEFAULT_REMINDER_WINDOW_DAYS = 7;
export const MAX_REMINDER_WINDOW_DAYS = 60;

/** Tokens by expiry time (the byExpiryDay index), revoked ones included. */
export interface ExpiringTokens {
  /** Every token whose expiry lies in [from, to]; eventually consistent, in any order. */
  expiringBetween(from: Date, to: Date): AsyncIterable<TokenRecord>;
}

export interface ReminderRunDeps extends NotifierDeps {
  readonly tokens: ExpiringTokens;
  readonly windowDays: number;
  /** Sends run this many at a time. @default 4 */
  readonly concurrency?: number;
  readonly onFailure?: (error: unknown, token: TokenRecord) => void;
  /**
   * The run's remaining time; no reminder is started with less than {@link MIN_REMAINING_MS} left,
   * and the run reports itself incomplete (the job fails, and its retry carries on).
   * @default unlimited
   */
  readonly remainingTimeMs?: () => number;
}

/** More than one reminder delivery can take (see the notifier's equivalent). */
export const MIN_REMAINING_MS = 30_000;

export interface ReminderRunResult {
  /** Tokens the index returned for the window. */
  readonly considered: number;
  readonly sent: number;
  /** Due, but reminded already (an earlier run). */
  readonly alreadySent: number;
  /** Not due: revoked, expired, no owner address, or still in the first half of its life. */
  readonly notDue: number;
  readonly failed: number;
  /** False when the run stopped early for lack of time: some tokens were not looked at. */
  readonly complete: boolean;
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

export async function runReminders(deps: ReminderRunDeps): Promise<ReminderRunResult> {
  const now = deps.clock.now();
  const to = new Date(now.getTime() + deps.windowDays * 86_400_000);
  const counts = { considered: 0, sent: 0, alreadySent: 0, notDue: 0, failed: 0 };
  const remaining = deps.remainingTimeMs ?? (() => Number.POSITIVE_INFINITY);
  let complete = true;
  const concurrency = Math.max(1, deps.concurrency ?? 4);
  const inFlight = new Set<Promise<void>>();

  const remind = async (token: TokenRecord): Promise<void> => {
    const event = reminderEventFor(token, now);
    if (event === undefined) {
      counts.notDue += 1;
      return;
    }
    let outcome: DeliveryOutcome;
    try {
      outcome = await deliverOnce(event, deps);
    } catch (error) {
      counts.failed += 1;
      deps.onFailure?.(error, token);
      return;
    }
    if (outcome.status === 'sent') counts.sent += 1;
    else counts.alreadySent += 1;
  };

  const seen = new Set<string>();
  for await (const token of deps.tokens.expiringBetween(now, to)) {
    if (remaining() < MIN_REMAINING_MS) {
      complete = false;
      break;
    }
    if (seen.has(token.id)) continue;
    seen.add(token.id);
    counts.considered += 1;
    if (!isDueForReminder(token, now, deps.windowDays)) {
      counts.notDue += 1;
      continue;
    }
    const task: Promise<void> = remind(token).finally(() => inFlight.delete(task));
    inFlight.add(task);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return { ...counts, complete };
}
