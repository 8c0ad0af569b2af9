import type { Clock } from '../ports.js';
import type { TokenEvent } from './events.js';
import { CLAIM_LEASE_SECONDS, idempotencyExpiresAt, idempotencyKeyOf } from './idempotency.js';
import { type RenderedEmail, renderEmail, type TemplateOptions } from './template.js';

// Sending a token event's email exactly once (as far as a mail API without idempotency allows).
//
// Claim, send, then mark sent: a two-state record.
// 1. claim: a conditional put of a `pending` record that succeeds only if there is no record, or a
//    pending one whose lease has lapsed (its holder crashed). A `sent` record means: done, skip.
// 2. send.
// 3. mark the record `sent` (kept for days, TTL). If SES fails, the claim is released (deleted) and
//    the error propagates, so the retry claims and sends again: a failure never loses an email.
// Mark-before-send alone would lose the email when SES fails after the mark; send-then-mark alone
// would send twice when a batch is redelivered during or after a slow send. The one window left is
// a crash between SES accepting the email and the mark: the lease lapses and the retry sends again
// (at least once, never zero times).

export interface OutgoingEmail extends RenderedEmail {
  readonly to: string;
}

/** Sends one email; throws on any failure (retryable or not: the caller reports and retries). */
export interface Mailer {
  send(email: OutgoingEmail): Promise<{ readonly messageId: string | undefined }>;
}

export interface ClaimRequest {
  readonly key: string;
  readonly kind: TokenEvent['kind'];
  readonly tokenId: string;
  readonly now: Date;
  /** Epoch milliseconds after which the claim may be taken over. */
  readonly leaseUntilMs: number;
  /** Epoch seconds: the record's TTL. */
  readonly expiresAt: number;
}

export type ClaimResult =
  | { readonly status: 'claimed'; readonly claimId: string }
  /** The email has been sent already. */
  | { readonly status: 'done' }
  /** Another delivery holds a live claim: try again later. */
  | { readonly status: 'in-progress' };

export interface IdempotencyStore {
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /** Marks the claimed record sent. */
  complete(key: string, claimId: string, sentAt: Date, messageId: string | undefined): Promise<void>;
  /** Deletes the claim so that a retry can send at once; a no-op if it is no longer ours. */
  release(key: string, claimId: string): Promise<void>;
}

export interface NotifierDeps {
  readonly mailer: Mailer;
  readonly store: IdempotencyStore;
  readonly clock: Clock;
  readonly template?: TemplateOptions;
  /** Told when marking an email sent failed after SES accepted it (the email is not resent). */
  readonly onCompleteFailed?: (error: unknown, event: TokenEvent) => void;
}

export type DeliveryOutcome =
  | { readonly status: 'sent'; readonly messageId: string | undefined }
  | { readonly status: 'duplicate' };

/** Thrown when another delivery of the same event holds a live claim; retry later. */
export class DeliveryInProgressError extends Error {
  constructor(readonly key: string) {
    super(`another delivery of ${key} is in progress`);
    this.name = 'DeliveryInProgressError';
  }
}

/**
 * Sends the event's email unless it has been sent already. Resolves 'sent' or 'duplicate'; rejects
 * when the email could not be sent (the claim is released first) or another delivery holds it.
 */
export async function deliverOnce(event: TokenEvent, deps: NotifierDeps): Promise<DeliveryOutcome> {
  const now = deps.clock.now();
  const key = idempotencyKeyOf(event);
  const claim = await deps.store.claim({
    key,
    kind: event.kind,
    tokenId: event.token.id,
    now,
    leaseUntilMs: now.getTime() + CLAIM_LEASE_SECONDS * 1000,
    expiresAt: idempotencyExpiresAt(event, now),
  });
  if (claim.status === 'done') return { status: 'duplicate' };
  if (claim.status === 'in-progress') throw new DeliveryInProgressError(key);

  const email: OutgoingEmail = { to: event.recipient, ...renderEmail(event, deps.template) };
  let messageId: string | undefined;
  try {
    ({ messageId } = await deps.mailer.send(email));
  } catch (error) {
    // Best effort: if the release fails too, the lease lapses and a later retry sends.
    await deps.store.release(key, claim.claimId).catch(() => undefined);
    throw error;
  }
  try {
    await deps.store.complete(key, claim.claimId, deps.clock.now(), messageId);
  } catch (error) {
    // The email went out. Failing now would make the retry send it again once the lease lapses;
    // the claim stays pending and expires with its TTL.
    deps.onCompleteFailed?.(error, event);
  }
  return { status: 'sent', messageId };
}
