import { newAuditEventId } from './ids.js';
import type { AuditAction, AuditActor, AuditEvent, Caller, FieldChange, TokenRecord } from './model.js';
import { limitsAuditValue } from './token-limits.js';

// Building audit events: who (the caller, or the system), what, about which token or user. Only
// names, ids, scopes, allowlists and times go in: never a secret, its hash or its hint.

/**
 * Request metadata kept with every change (audit events, the token's lastChange, revoke-all jobs)
 * is capped (issue #18 item 8): a user agent can be ~10 KB, and audit events are kept a year in
 * three copies. An IPv6 address with a zone is under 64 characters.
 */
export const MAX_USER_AGENT_LENGTH = 256;
export const MAX_SOURCE_IP_LENGTH = 64;

/** `value` cut to at most `max` UTF-16 units, ending in `…` when cut, never in half a surrogate pair. */
export function capText(value: string, max: number): string {
  if (value.length <= max) return value;
  let cut = value.slice(0, max - 1);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${cut}…`;
}

export const SYSTEM_ACTOR: AuditActor = { userId: null, role: null, sourceIp: null, userAgent: null };

export function actorOf(caller: Caller): AuditActor {
  return {
    userId: caller.userId,
    role: caller.role,
    sourceIp: caller.sourceIp ?? null,
    userAgent: caller.userAgent ?? null,
  };
}

interface AuditEventInput {
  readonly action: AuditAction;
  readonly at: Date | string;
  readonly actor: AuditActor;
  readonly accountId: string;
  readonly subjectUserId: string;
  readonly token?: Pick<TokenRecord, 'id' | 'name'> | undefined;
  readonly changes?: readonly FieldChange[];
  readonly details?: AuditEvent['details'];
  /** Tests and idempotent writers pin it; default a random `evt_` id. */
  readonly id?: string;
}

export function auditEvent(input: AuditEventInput): AuditEvent {
  return {
    id: input.id ?? newAuditEventId(),
    at: typeof input.at === 'string' ? input.at : input.at.toISOString(),
    action: input.action,
    accountId: input.accountId,
    subjectUserId: input.subjectUserId,
    tokenId: input.token?.id ?? null,
    tokenName: input.token?.name ?? null,
    actor: input.actor,
    changes: input.changes ?? [],
    details: input.details ?? {},
  };
}

/** An event about a token, by the caller. */
export function tokenAuditEvent(
  action: AuditAction,
  caller: Caller,
  token: TokenRecord,
  at: Date | string,
  extra: Pick<AuditEventInput, 'changes' | 'details'> = {},
): AuditEvent {
  return auditEvent({
    action,
    at,
    actor: actorOf(caller),
    accountId: token.accountId,
    subjectUserId: token.userId,
    token,
    ...extra,
  });
}

/**
 * The id of a token's `token.expired` event: derived from the token id (`tok_<x>` → `evt_<x>`), so
 * that every writer of it (the expiry sweep, the stream's TTL deletion) writes the same event once.
 */
function expiredEventIdOf(tokenId: string): string {
  return `evt_${tokenId.slice('tok_'.length)}`;
}

/**
 * `token.expired`, by the system, at the token's expiry. Its id is derived from the token id, so
 * whoever records it (the expiry sweep or the stream's TTL deletion) writes the same event once. It
 * takes only what it records, so a writer that has just the token's limit slot (the token item is
 * already gone) builds the same event.
 */
export function expiredAuditEvent(
  token: Pick<TokenRecord, 'id' | 'name' | 'expiresAt' | 'accountId' | 'userId'>,
): AuditEvent {
  return auditEvent({
    id: expiredEventIdOf(token.id),
    action: 'token.expired',
    at: token.expiresAt ?? new Date(0).toISOString(),
    actor: SYSTEM_ACTOR,
    accountId: token.accountId,
    subjectUserId: token.userId,
    token,
  });
}

const DIFFED_FIELDS = ['name', 'description', 'scopes', 'allowedIps', 'expiresAt'] as const;

function sameValue(a: string | readonly string[] | null, b: string | readonly string[] | null): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((value, index) => value === b[index]);
  }
  return a === b;
}

/**
 * The field-level diff of an edit: one entry per field whose value changed. A token's own limits
 * are one field, as compact JSON (null: the type's).
 */
export function diffToken(before: TokenRecord, after: TokenRecord): FieldChange[] {
  const changes: FieldChange[] = [];
  const limitsFrom = limitsAuditValue(before.limits);
  const limitsTo = limitsAuditValue(after.limits);
  for (const field of DIFFED_FIELDS) {
    const from = before[field];
    const to = after[field];
    if (!sameValue(from, to)) {
      changes.push({
        field,
        from: Array.isArray(from) ? [...from] : (from as string | null),
        to: Array.isArray(to) ? [...to] : (to as string | null),
      });
    }
  }
  if (limitsFrom !== limitsTo) changes.push({ field: 'limits', from: limitsFrom, to: limitsTo });
  return changes;
}
