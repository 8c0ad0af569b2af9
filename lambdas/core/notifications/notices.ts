import type { AuditEvent, TokenRecord } from '../model.js';
import type { OwnerContact } from './contacts.js';
import { DAY_SECONDS, STREAM_EVENT_RETENTION_SECONDS } from './idempotency.js';
import type { Notification } from './notifier.js';
import { type Detail, formatTime, plainLine, renderLayout, type TemplateOptions } from './template.js';

// The two notifications that are about more than one token event:
// - the summary of a "revoke all": one email per owner naming every token that one revoke-all
//   revoked (its `tokens.revoked-all` audit event; the tokens carry its id in lastChange.bulkId),
//   instead of one email per token;
// - the security notice when an owner's address changed, to the old and to the new address.

/** At most this many tokens are listed by name in a summary; the rest are counted. */
const SUMMARY_LIST_LIMIT = 100;

const recordExpiry = (now: Date) => Math.floor(now.getTime() / 1000) + STREAM_EVENT_RETENTION_SECONDS;

/** What a `tokens.revoked-all` audit event says about the revoke-all it records. */
export interface BulkRevocation {
  readonly bulkId: string;
  readonly accountId: string;
  /** The user whose tokens were revoked; undefined for the whole account (`*`). */
  readonly targetUserId: string | undefined;
  readonly revokedCount: number;
  readonly at: string;
  readonly actorUserId: string | null;
  readonly sourceIp: string | null;
  readonly userAgent: string | null;
}

/** The revoke-all an audit event records, when it is one. */
export function bulkRevocationOf(event: AuditEvent): BulkRevocation | undefined {
  if (event.action !== 'tokens.revoked-all') return undefined;
  const target = event.details.target;
  const count = event.details.revokedCount;
  return {
    bulkId: event.id,
    accountId: event.accountId,
    targetUserId: typeof target === 'string' && target !== '*' ? target : undefined,
    revokedCount: typeof count === 'number' ? count : 0,
    at: event.at,
    actorUserId: event.actor.userId,
    sourceIp: event.actor.sourceIp,
    userAgent: event.actor.userAgent,
  };
}

/** The tokens one revoke-all revoked (lastChange.bulkId), found through an index. */
export interface BulkRevocationTokens {
  revokedBy(bulk: BulkRevocation): Promise<TokenRecord[]>;
}

/** Thrown while the index does not show every token the revoke-all counted yet: retry later. */
export class BulkRevocationIncompleteError extends Error {
  constructor(
    readonly bulkId: string,
    readonly found: number,
    readonly expected: number,
  ) {
    super(`revoke-all ${bulkId}: ${found} of ${expected} revoked tokens visible so far`);
    this.name = 'BulkRevocationIncompleteError';
  }
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

/** The summary email of one owner's tokens revoked by one revoke-all. */
export function bulkRevocationNotification(
  bulk: BulkRevocation,
  ownerUserId: string,
  tokens: readonly TokenRecord[],
  recipient: string,
  now: Date,
  options: TemplateOptions = {},
): Notification {
  const byOwner = bulk.actorUserId === ownerUserId;
  const who = byOwner ? 'You' : 'An administrator';
  const sorted = [...tokens].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  const listed = sorted
    .slice(0, SUMMARY_LIST_LIMIT)
    .map((token) => `"${plainLine(token.name, 80)}" (${token.id}, ${plainLine(token.hint, 40)})`);
  if (sorted.length > listed.length) listed.push(`and ${sorted.length - listed.length} more`);
  const details: Detail[] = [
    { label: 'What happened', value: `Revoked all at once (${plural(tokens.length, 'token')})` },
    { label: 'When', value: formatTime(bulk.at) },
    { label: 'By', value: who },
  ];
  if (bulk.sourceIp !== null && bulk.sourceIp !== '') {
    details.push({ label: 'From IP address', value: plainLine(bulk.sourceIp, 64) });
  }
  if (bulk.userAgent !== null && bulk.userAgent !== '') {
    details.push({ label: 'User agent', value: plainLine(bulk.userAgent, 200) });
  }
  const email = renderLayout(
    {
      subject: `${plural(tokens.length, 'access token')} revoked at once`,
      lead: [
        `${who} revoked all your access tokens at once ("revoke all"): ${plural(tokens.length, 'token')}, listed below (name, id, hint).`,
        'They no longer work, and they cannot be turned back on.',
      ],
      details,
      list: listed,
      advice: byOwner
        ? 'If this was not you, someone may be using your account: change your password and tell your administrator. Systems that used these tokens need new ones.'
        : 'If you did not expect this, contact your administrator. Systems that used these tokens need new ones.',
    },
    options,
  );
  return {
    key: `revoked-all#${bulk.bulkId}#${ownerUserId}`,
    kind: 'revoked-all',
    subjectId: bulk.bulkId,
    email: { to: recipient, ...email },
    expiresAt: recordExpiry(now),
  };
}

/**
 * The security notices of an address change: one to the old address, one to the new. Keyed by
 * the user and the time of the write that changed it, so each change is told once.
 */
export function addressChangeNotifications(
  contact: OwnerContact,
  previousEmail: string,
  now: Date,
  options: TemplateOptions = {},
): Notification[] {
  const from = plainLine(previousEmail, 200);
  const to = plainLine(contact.email, 200);
  const email = renderLayout(
    {
      subject: 'The email address for your access tokens changed',
      lead: [
        `Emails about your access tokens now go to ${to} instead of ${from}.`,
        'The change came from a sign-in with the new address that created, changed or revoked an access token.',
      ],
      details: [
        { label: 'Previous address', value: from },
        { label: 'New address', value: to },
        { label: 'When', value: formatTime(contact.updatedAt) },
      ],
      advice:
        'If this was you, nothing needs doing. If it was not, someone may be using your account: change your password, revoke your access tokens and tell your administrator.',
      footer:
        'You receive this email because one of these addresses receives the emails about your access tokens. It never contains a token secret.',
    },
    options,
  );
  const base = `address-changed#${contact.accountId}#${contact.userId}#${contact.updatedAt}`;
  return [
    { recipient: previousEmail, side: 'old' },
    { recipient: contact.email, side: 'new' },
  ].map(({ recipient, side }) => ({
    key: `${base}#${side}`,
    kind: 'address-changed',
    subjectId: contact.userId,
    email: { to: recipient, ...email },
    expiresAt: recordExpiry(now) + DAY_SECONDS,
  }));
}
