import type { LeakSighting, TokenChange, TokenRecord } from '../model.js';

// The notifier's event model: what happened to a token that its owner is told about by email.
// A stream record (its old and new token images) becomes zero or one TokenEvent; the reminder job
// makes reminder events. Pure: no AWS SDK, no clock of its own.

export const TOKEN_EVENT_KINDS = ['created', 'rotated', 'revoked', 'expired', 'reminder'] as const;
export type TokenEventKind = (typeof TOKEN_EVENT_KINDS)[number];

/**
 * Who did it, as the owner should read it: the owner themselves ("you"), somebody else with the
 * right to act on the token ("an administrator"), or nobody (expiry, reminders).
 */
export type ActorRelation = 'owner' | 'administrator' | 'system';

/** What the email may say about a token: never its secret, nor the secret's hash. */
export interface TokenSummary {
  readonly id: string;
  readonly name: string;
  readonly hint: string;
  readonly userId: string;
  readonly accountId: string;
  readonly expiresAt: string | null;
}

export interface TokenEvent {
  readonly kind: TokenEventKind;
  readonly token: TokenSummary;
  /** The owner's email address: where the email goes. */
  readonly recipient: string;
  /**
   * When it happened (ISO 8601): the change's time for created/rotated/revoked, the token's expiry
   * for expired, the job's run for a reminder.
   */
  readonly occurredAt: string;
  readonly actor: ActorRelation;
  /** Where the change came from, when the request said so (never for expiry or reminders). */
  readonly sourceIp: string | undefined;
  readonly userAgent: string | undefined;
  /** Revoked as part of "revoke all" (DELETE /tokens?userId=): one event per token all the same. */
  readonly bulk: boolean;
  /**
   * Revoked because its secret was found in public (a leak report): where, and who reported it.
   * The email says so and what to do next; never the secret.
   */
  readonly leak?: LeakSighting;
}

export type StreamEventName = 'INSERT' | 'MODIFY' | 'REMOVE';

/**
 * One stream record of a token item, decoded: the images already mapped to token records (a stream
 * record of any other item never gets here).
 */
export interface TokenStreamChange {
  readonly eventName: StreamEventName;
  readonly oldToken: TokenRecord | undefined;
  readonly newToken: TokenRecord | undefined;
  /**
   * The REMOVE is an expiry (lambdas/adapters/stream-records.ts, isExpiryDeletion): DynamoDB's own TTL
   * deletion (`userIdentity.principalId = dynamodb.amazonaws.com`), or, on a global table
   * (docs/regions.md), one replicated from another Region's TTL, which carries no userIdentity but an
   * item whose `ttl` had passed. A user's delete carries no userIdentity and an unexpired item.
   */
  readonly removedByService: boolean;
  /**
   * The new image's `lastChange.bulk === true` (revoke-all). Read from the raw image by the decoder,
   * so it works whether or not TokenChange declares the flag yet.
   */
  readonly bulk: boolean;
}

/**
 * Whether the change was made by the token's owner or by someone acting on their token; GitHub's
 * secret scanning (a leak report) is nobody of the account: the system.
 */
function actorRelationOf(token: Pick<TokenRecord, 'userId'>, change: TokenChange): ActorRelation {
  if (change.leak?.reportedBy === 'secret-scanning') return 'system';
  return change.actorUserId === token.userId ? 'owner' : 'administrator';
}

function summaryOf(token: TokenRecord): TokenSummary {
  return {
    id: token.id,
    name: token.name,
    hint: token.hint,
    userId: token.userId,
    accountId: token.accountId,
    expiresAt: token.expiresAt,
  };
}

function changeEvent(
  kind: 'created' | 'rotated' | 'revoked',
  token: TokenRecord,
  at: string,
  bulk: boolean,
): TokenEvent | undefined {
  if (token.ownerEmail === undefined || token.ownerEmail === '') return undefined;
  const change = token.lastChange;
  return {
    kind,
    token: summaryOf(token),
    recipient: token.ownerEmail,
    occurredAt: at,
    actor: actorRelationOf(token, change),
    sourceIp: change.sourceIp,
    userAgent: change.userAgent,
    bulk: kind === 'revoked' && bulk,
    ...(kind === 'revoked' && change.leak !== undefined ? { leak: change.leak } : {}),
  };
}

/**
 * The event a stream record of a token item stands for, if any:
 * - INSERT of an active token written by a create → created;
 * - MODIFY whose state goes active → revoked → revoked (the transition is the event: a MODIFY that
 *   leaves the state alone, e.g. revoking again or recording use, sends nothing), unless the token
 *   had expired by then;
 * - MODIFY of an active token whose lastChange is a new rotation → rotated;
 * - REMOVE by the DynamoDB service principal (TTL) of a token that was still active → expired
 *   (never "revoked"; a revoked token that TTL removes later gets nothing more);
 * - anything else (edits, a user's delete, a token without an owner email) → nothing.
 * Edits (`lastChange.action = updated`) send no email: they change neither the secret nor whether
 * the token works, the audit trail records them, and an expiry change re-arms the reminder.
 */
export function tokenEventFromChange(change: TokenStreamChange): TokenEvent | undefined {
  const { oldToken, newToken } = change;
  switch (change.eventName) {
    case 'INSERT': {
      if (newToken === undefined || newToken.state !== 'active') return undefined;
      if (newToken.lastChange.action !== 'created') return undefined;
      return changeEvent('created', newToken, newToken.lastChange.at, false);
    }
    case 'MODIFY': {
      if (newToken === undefined) return undefined;
      if (oldToken?.state === 'active' && newToken.state === 'revoked') {
        const at =
          newToken.lastChange.action === 'revoked'
            ? newToken.lastChange.at
            : (newToken.revokedAt ?? newToken.lastChange.at);
        // A token that had expired before it was "revoked" had already stopped: no email says it
        // was revoked. The service never writes such a change; this holds for any writer.
        if (newToken.expiresAt !== null && Date.parse(newToken.expiresAt) <= Date.parse(at)) return undefined;
        return changeEvent('revoked', newToken, at, change.bulk);
      }
      if (
        newToken.state === 'active' &&
        newToken.lastChange.action === 'rotated' &&
        (oldToken === undefined || !sameChange(oldToken.lastChange, newToken.lastChange))
      ) {
        return changeEvent('rotated', newToken, newToken.lastChange.at, false);
      }
      return undefined;
    }
    case 'REMOVE': {
      if (!change.removedByService || oldToken === undefined || oldToken.state !== 'active') return undefined;
      if (oldToken.ownerEmail === undefined || oldToken.ownerEmail === '') return undefined;
      return {
        kind: 'expired',
        token: summaryOf(oldToken),
        recipient: oldToken.ownerEmail,
        occurredAt: oldToken.expiresAt ?? oldToken.lastChange.at,
        actor: 'system',
        sourceIp: undefined,
        userAgent: undefined,
        bulk: false,
      };
    }
  }
}

function sameChange(a: TokenChange, b: TokenChange): boolean {
  return a.action === b.action && a.at === b.at && a.actorUserId === b.actorUserId;
}

const DAY_MS = 86_400_000;

/** How often the reminder job runs (its schedule is daily). */
export const REMINDER_RUN_INTERVAL_MS = DAY_MS;

/**
 * Whether the reminder job should remind the owner of this token now: it is active, has an owner
 * address, expires within the window (and has not expired yet), and either is in the second half
 * of its life (so that a short-lived token, e.g. a 7-day token with a 7-day window, is not
 * "reminded" the day after its owner chose that lifetime), or will have expired by the next run
 * (`runIntervalMs` from now): a token whose whole second half falls between two runs gets its one
 * reminder at the last run before it expires.
 */
export function isDueForReminder(
  token: TokenRecord,
  now: Date,
  windowDays: number,
  runIntervalMs: number = REMINDER_RUN_INTERVAL_MS,
): boolean {
  if (token.state !== 'active' || token.expiresAt === null) return false;
  if (token.ownerEmail === undefined || token.ownerEmail === '') return false;
  const expiresMs = Date.parse(token.expiresAt);
  const createdMs = Date.parse(token.createdAt);
  const nowMs = now.getTime();
  if (Number.isNaN(expiresMs) || expiresMs <= nowMs) return false;
  if (expiresMs - nowMs > windowDays * DAY_MS) return false;
  if (Number.isNaN(createdMs) || nowMs - createdMs >= (expiresMs - createdMs) / 2) return true;
  return expiresMs - nowMs <= runIntervalMs;
}

/** The reminder for a token that {@link isDueForReminder}; undefined when there is nobody to tell. */
export function reminderEventFor(token: TokenRecord, now: Date): TokenEvent | undefined {
  if (token.ownerEmail === undefined || token.ownerEmail === '' || token.expiresAt === null) return undefined;
  return {
    kind: 'reminder',
    token: summaryOf(token),
    recipient: token.ownerEmail,
    occurredAt: now.toISOString(),
    actor: 'system',
    sourceIp: undefined,
    userAgent: undefined,
    bulk: false,
  };
}

/** Whole days left until the token expires, counted up (so "in 1 day" until the very end). */
export function daysUntilExpiry(event: Pick<TokenEvent, 'token' | 'occurredAt'>): number | undefined {
  if (event.token.expiresAt === null) return undefined;
  const left = Date.parse(event.token.expiresAt) - Date.parse(event.occurredAt);
  if (Number.isNaN(left)) return undefined;
  return Math.max(1, Math.ceil(left / DAY_MS));
}
