import { ForbiddenError, NotFoundError } from './errors.js';
import type { AuditEventView, ListAuditEventsInput } from './inputs.js';
import { openListCursor } from './list-cursors.js';
import type { AuditEvent, Caller, FieldChange } from './model.js';
import type { AuditLog, AuditScope, KeySource, Page } from './ports.js';

// GET /audit-events: the audit trail, newest first. A member sees the events about their own
// tokens and access; an admin those of the whole account, or of one user. A token's events are
// visible to whoever may see the token: for anyone else they are "not found", exactly like the
// token (whether it exists, was deleted by TTL, or belongs elsewhere).

export interface AuditDeps {
  readonly auditLog: AuditLog;
  readonly keySource: KeySource;
}

export function toAuditEventView(event: AuditEvent): AuditEventView {
  return {
    ...event,
    actor: { ...event.actor },
    changes: event.changes.map((change) => ({
      field: change.field,
      from: copyValue(change.from),
      to: copyValue(change.to),
    })),
    details: { ...event.details },
  };
}

function copyValue(value: FieldChange['from']): string | string[] | null {
  return typeof value === 'string' || value === null ? value : [...value];
}

function tokenEventsNotFound(): NotFoundError {
  return new NotFoundError('Token not found');
}

export async function listAuditEvents(
  deps: AuditDeps,
  caller: Caller,
  query: ListAuditEventsInput,
): Promise<Page<AuditEvent>> {
  if (query.userId !== undefined && query.userId !== caller.userId && caller.role !== 'admin') {
    throw new ForbiddenError("Only an admin can read the audit trail of other users' tokens");
  }
  // Whose events the caller may read in this listing: undefined = anyone's in the account.
  const subject = caller.role === 'admin' ? query.userId : caller.userId;
  const cursors = await openListCursor(
    deps.keySource,
    'listAuditEvents',
    caller,
    [query.tokenId, query.userId],
    query.cursor,
  );
  const visible = (event: AuditEvent) =>
    event.accountId === caller.accountId && (subject === undefined || event.subjectUserId === subject);

  if (query.tokenId !== undefined) {
    // The token partition is global: every event on the page must be the caller's to see. All of a
    // token's events share its account and owner, so one that is not means the token is not theirs.
    const page = await deps.auditLog.list(
      { kind: 'token', tokenId: query.tokenId },
      { limit: query.limit, cursor: cursors.inner },
    );
    if (!page.items.every(visible)) throw tokenEventsNotFound();
    // A token with no events at all is one the caller cannot tell apart from a foreign one. Only on
    // the first page: a later page's cursor proves the earlier ones were visible.
    if (page.items.length === 0 && query.cursor === undefined) throw tokenEventsNotFound();
    return { items: page.items, nextCursor: cursors.seal(page.nextCursor) };
  }

  const scope: AuditScope =
    subject === undefined
      ? { kind: 'account', accountId: caller.accountId }
      : { kind: 'user', accountId: caller.accountId, userId: subject };
  const page = await deps.auditLog.list(scope, { limit: query.limit, cursor: cursors.inner });
  // Partitions are built from id strings; whatever a page holds, only the caller's account gets through.
  return { items: page.items.filter(visible), nextCursor: cursors.seal(page.nextCursor) };
}
