import type { TokenEvent } from './events.js';

// Once per event: the key under which the notifier records that an event's email went out, and how
// long that record must live.
//
// The key is derived from what happened, not from the stream record that carried it (its eventID):
// - one-time events are keyed by the token alone: a token is created once, revoked once (revoked is
//   terminal) and expires once, so no second record, however it came about, sends a second email;
// - a rotation can happen many times, so it is keyed by the token and the change's time;
// - a reminder is keyed by the token and the expiry it warns about: the job may run any number of
//   times and send one reminder per token, and if an edit moves the expiry, the new expiry gets one.
// An eventID would dedupe a redelivered batch just as well, but not the same change seen twice in
// different records: a stream replayed after the event source mapping is recreated (TRIM_HORIZON),
// a global table's replica stream, or a redrive.

export const DAY_SECONDS = 86_400;

/**
 * Partition-key prefix of the idempotency records (`IDEMPOTENCY#<key>`); the stack limits the
 * notifier's and the reminder job's writes to items under it.
 */
export const IDEMPOTENCY_PREFIX = 'IDEMPOTENCY#';

/**
 * How long an idempotency record of a stream event is kept: longer than a stream record can be
 * delivered (24 h retention; the event source's maximum record age is shorter), with room for a
 * manual redrive.
 */
export const STREAM_EVENT_RETENTION_SECONDS = 7 * DAY_SECONDS;

/**
 * How long a claim protects an email that is being sent: longer than its holder can take to claim,
 * send and release it, every SDK call of which ends within its enforced timeouts (three calls of
 * at most 29 s each, lambdas/runtime/sdk-options.ts; a unit test keeps the two in step). While it
 * is live, another delivery of the same email waits for it (the notifier's invocations have the
 * time to wait out a whole lease, so a live claim costs no stream retry); once it lapses without
 * a mark, the email counts as maybe sent and is never sent again (notifier.ts).
 */
export const CLAIM_LEASE_SECONDS = 120;

export function idempotencyKeyOf(event: TokenEvent): string {
  switch (event.kind) {
    case 'created':
    case 'revoked':
    case 'expired':
      return `${event.kind}#${event.token.id}`;
    case 'rotated':
      return `rotated#${event.token.id}#${event.occurredAt}`;
    case 'reminder':
      return `reminder#${event.token.id}#${event.token.expiresAt ?? 'never'}`;
  }
}

/**
 * When the record of this event may go (epoch seconds, the table's TTL attribute): a week for stream
 * events; for a reminder, a week past the expiry it warns about, so the job never sends it again
 * while the token can still be found by its expiry day.
 */
export function idempotencyExpiresAt(event: TokenEvent, now: Date): number {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const floor = nowSeconds + STREAM_EVENT_RETENTION_SECONDS;
  if (event.kind !== 'reminder' || event.token.expiresAt === null) return floor;
  const expiresSeconds = Math.floor(Date.parse(event.token.expiresAt) / 1000);
  if (Number.isNaN(expiresSeconds)) return floor;
  return Math.max(floor, expiresSeconds + STREAM_EVENT_RETENTION_SECONDS);
}
