import { cursorBinding, hmacCursorSealer, invalidCursorError } from './cursor-seal.js';
import type { Caller } from './model.js';
import type { KeySource } from './ports.js';

// Signed list cursors for the use cases. Every listing seals the repository's cursor with a tag
// bound to the route, the caller (account, user, role) and the query's filters, so a cursor that
// was edited, cut short, issued to someone else or for another query is a 400 before any read.
// The repository cursor inside it (a DynamoDB key) then never comes from the client unchecked.

type ListRouteName = 'listTokens' | 'listAuditEvents';

interface ListCursors {
  /** The repository cursor inside a client's cursor; undefined when none was given. Throws 400. */
  readonly inner: string | undefined;
  /** The cursor to hand out for the repository's next cursor; undefined on the last page. */
  seal(next: string | undefined): string | undefined;
}

/**
 * Opens `cursor` (if any) for this route, caller and filters, with the cursor key from `keySource`
 * (the list handlers' own data key, never the HMAC key: lambdas/runtime/key-source.ts). `filters` are every query parameter
 * except `cursor` and `limit`, in a fixed order per route: a page size may change between pages,
 * nothing else may.
 */
export async function openListCursor(
  keySource: KeySource,
  route: ListRouteName,
  caller: Caller,
  filters: readonly (string | undefined)[],
  cursor: string | undefined,
): Promise<ListCursors> {
  const sealer = hmacCursorSealer(await keySource.getKey());
  const binding = cursorBinding([route, caller.accountId, caller.userId, caller.role, ...filters]);
  const inner = cursor === undefined ? undefined : sealer.open(cursor, binding);
  // The tag's last base64url character carries 4 unused bits, which decoding ignores: without this
  // check, a few one-character edits of a cursor would still open. Only the exact cursor issued is.
  if (cursor !== undefined && inner !== undefined && sealer.seal(inner, binding) !== cursor) {
    throw invalidCursorError();
  }
  return {
    inner,
    seal: (next) => (next === undefined ? undefined : sealer.seal(next, binding)),
  };
}
