import type { Clock } from '../ports.js';
import type { TokenEvent } from './events.js';
import { CLAIM_LEASE_SECONDS, idempotencyExpiresAt, idempotencyKeyOf } from './idempotency.js';
import { type RenderedEmail, renderEmail, type TemplateOptions } from './template.js';

// Sending each notification email once (as far as a mail API without idempotency allows).
//
// Claim, send, then mark sent: a two-state record (`pending` with a lease, then `sent`).
// 1. claim: a conditional put of a `pending` record that succeeds only if there is no record.
//    A `sent` record means done; a `pending` one whose lease is live means another delivery is
//    sending it right now (wait for it, or retry later); a `pending` one whose lease has lapsed
//    means its holder stopped after it may have handed the email to SES: "maybe sent".
// 2. send. If SES fails (an error answer, or no answer within the SDK's enforced timeouts), the
//    claim is released (deleted) and the error propagates: the retry claims and sends again, so a
//    failure never loses an email.
// 3. mark the record `sent` (kept for days, TTL), retried a few times. If it still fails, the
//    email went out all the same: the record stays `pending` until its lease lapses, and then
//    counts as "maybe sent".
// A "maybe sent" record is never sent again: whoever finds it marks it sent (`maybeSent: true`)
// and says so in the log. That is the one trade made: a holder that crashed between its claim and
// SES's answer leaves an email that went out at most once (a second copy is worse than a logged,
// rare gap), while every failure that is known as one is retried.

export interface OutgoingEmail extends RenderedEmail {
  readonly to: string;
}

/** Sends one email; throws on any failure (retryable or not: the caller reports and retries). */
export interface Mailer {
  send(email: OutgoingEmail): Promise<{ readonly messageId: string | undefined }>;
}

/** One email to send once: its key (what happened, to whom), the email, and how long to remember it. */
export interface Notification {
  /** The idempotency key: derived from what happened, never from the record that carried it. */
  readonly key: string;
  /** What it is about, for the record and the logs: a token event kind, `revoked-all`, `address-changed`. */
  readonly kind: string;
  /** The token (or revoke-all, or user) it is about, for the record and the logs. */
  readonly subjectId: string;
  readonly email: OutgoingEmail;
  /** Epoch seconds: when its record may go (the table's TTL). */
  readonly expiresAt: number;
}

export interface ClaimRequest {
  readonly key: string;
  readonly kind: string;
  readonly tokenId: string;
  readonly now: Date;
  /** Epoch milliseconds until which the claim is live. */
  readonly leaseUntilMs: number;
  /** Epoch seconds: the record's TTL. */
  readonly expiresAt: number;
}

export type ClaimResult =
  | { readonly status: 'claimed'; readonly claimId: string }
  /** The email has been sent already. */
  | { readonly status: 'done' }
  /** Another delivery holds a live claim until `leaseUntilMs`. */
  | { readonly status: 'in-progress'; readonly leaseUntilMs: number }
  /** A claim whose lease lapsed before it was marked sent or released: maybe sent. */
  | { readonly status: 'lapsed'; readonly claimId: string };

export interface IdempotencyStore {
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /** Marks the claimed record sent; a no-op if it is no longer ours. */
  complete(key: string, claimId: string, sentAt: Date, messageId: string | undefined): Promise<void>;
  /** Marks a lapsed claim sent as "maybe sent"; a no-op if it changed meanwhile. */
  markMaybeSent(key: string, claimId: string, at: Date): Promise<void>;
  /** Deletes the claim so that a retry can send at once; a no-op if it is no longer ours. */
  release(key: string, claimId: string): Promise<void>;
}

export interface NotifierDeps {
  readonly mailer: Mailer;
  readonly store: IdempotencyStore;
  readonly clock: Clock;
  readonly template?: TemplateOptions;
  /**
   * How long this delivery may still wait for another one's live claim (its remaining time minus
   * what a delivery needs). @default 0: a live claim is reported at once (DeliveryInProgressError)
   */
  readonly waitBudgetMs?: () => number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Called before each send; resolves when the send may start (pacing to SES's send rate).
   * @default none
   */
  readonly beforeSend?: () => Promise<void>;
  /** Told when marking an email sent failed after SES accepted it (it will count as maybe sent). */
  readonly onCompleteFailed?: (error: unknown, notification: Notification) => void;
  /** Told about every lapsed claim found (an email that may have gone out; not sent again). */
  readonly onMaybeSent?: (notification: Notification) => void;
  /** Told when a claim could not be released after a failed send (it will count as maybe sent). */
  readonly onReleaseFailed?: (error: unknown, notification: Notification) => void;
}

export type DeliveryOutcome =
  | { readonly status: 'sent'; readonly messageId: string | undefined }
  | { readonly status: 'duplicate' }
  /** A lapsed claim: the email may have gone out; it was marked, not sent again. */
  | { readonly status: 'maybe-sent' };

/** Thrown when another delivery of the same email holds a live claim longer than we may wait. */
export class DeliveryInProgressError extends Error {
  constructor(
    readonly key: string,
    readonly leaseUntilMs: number,
  ) {
    super(`another delivery of ${key} is in progress`);
    this.name = 'DeliveryInProgressError';
  }
}

/** Attempts at marking an email sent (each an SDK call with its own retries). */
export const COMPLETE_ATTEMPTS = 3;
/** Attempts at releasing a claim after a failed send. */
const RELEASE_ATTEMPTS = 2;
/** How often a live claim of another delivery is looked at again while waiting for it. */
const CLAIM_POLL_MS = 2_000;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A token event as the notification to send. */
export function notificationOf(event: TokenEvent, now: Date, template?: TemplateOptions): Notification {
  return {
    key: idempotencyKeyOf(event),
    kind: event.kind,
    subjectId: event.token.id,
    email: { to: event.recipient, ...renderEmail(event, template) },
    expiresAt: idempotencyExpiresAt(event, now),
  };
}

/** Sends a token event's email unless it has been sent (or maybe sent) already. */
export function deliverOnce(event: TokenEvent, deps: NotifierDeps): Promise<DeliveryOutcome> {
  return deliverNotification(notificationOf(event, deps.clock.now(), deps.template), deps);
}

async function claimOrWait(notification: Notification, deps: NotifierDeps): Promise<ClaimResult> {
  const sleep = deps.sleep ?? realSleep;
  // Never longer than a lease, whatever the clock says: by then the holder has marked, released or
  // stopped, and the claim is no longer in progress.
  let waited = 0;
  for (;;) {
    const now = deps.clock.now();
    const claim = await deps.store.claim({
      key: notification.key,
      kind: notification.kind,
      tokenId: notification.subjectId,
      now,
      leaseUntilMs: now.getTime() + CLAIM_LEASE_SECONDS * 1000,
      expiresAt: notification.expiresAt,
    });
    if (claim.status !== 'in-progress') return claim;
    // A claim that comes and goes under our hands (claimed and released twice): retry later.
    if (claim.leaseUntilMs <= now.getTime())
      throw new DeliveryInProgressError(notification.key, claim.leaseUntilMs);
    // Another delivery is on it: it marks it sent, releases it (we send), or stops (maybe sent).
    const pause = Math.max(1, Math.min(CLAIM_POLL_MS, claim.leaseUntilMs - now.getTime() + 1));
    if ((deps.waitBudgetMs?.() ?? 0) < pause || waited + pause > CLAIM_LEASE_SECONDS * 1000 + CLAIM_POLL_MS) {
      throw new DeliveryInProgressError(notification.key, claim.leaseUntilMs);
    }
    await sleep(pause);
    waited += pause;
  }
}

async function attempt<T>(times: number, sleep: (ms: number) => Promise<void>, run: () => Promise<T>) {
  let lastError: unknown;
  for (let round = 1; round <= times; round++) {
    try {
      return { ok: true as const, value: await run() };
    } catch (error) {
      lastError = error;
      if (round < times) await sleep(100 * 2 ** round);
    }
  }
  return { ok: false as const, error: lastError };
}

/**
 * Sends the notification's email unless it has been sent, or maybe sent, already. Resolves 'sent',
 * 'duplicate' or 'maybe-sent'; rejects when the email could not be sent (the claim is released
 * first), or another delivery holds it for longer than `waitBudgetMs` allows.
 */
export async function deliverNotification(
  notification: Notification,
  deps: NotifierDeps,
): Promise<DeliveryOutcome> {
  const sleep = deps.sleep ?? realSleep;
  const { key } = notification;
  const claim = await claimOrWait(notification, deps);
  if (claim.status === 'done') return { status: 'duplicate' };
  if (claim.status === 'in-progress') throw new DeliveryInProgressError(key, claim.leaseUntilMs);
  if (claim.status === 'lapsed') {
    // Its holder stopped after claiming: SES may have sent it. Never again; record it, say so.
    await deps.store.markMaybeSent(key, claim.claimId, deps.clock.now());
    deps.onMaybeSent?.(notification);
    return { status: 'maybe-sent' };
  }

  let messageId: string | undefined;
  try {
    await deps.beforeSend?.();
    ({ messageId } = await deps.mailer.send(notification.email));
  } catch (error) {
    const released = await attempt(RELEASE_ATTEMPTS, sleep, () => deps.store.release(key, claim.claimId));
    if (!released.ok) deps.onReleaseFailed?.(released.error, notification);
    throw error;
  }
  const marked = await attempt(COMPLETE_ATTEMPTS, sleep, () =>
    deps.store.complete(key, claim.claimId, deps.clock.now(), messageId),
  );
  // The email went out. Failing now would only make a retry find the claim; once its lease lapses
  // it counts as maybe sent, and whoever finds it marks it and logs it.
  if (!marked.ok) deps.onCompleteFailed?.(marked.error, notification);
  return { status: 'sent', messageId };
}
