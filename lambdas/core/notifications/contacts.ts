import type { TokenRecord } from '../model.js';

// Where a token owner's emails go: their current address, not the one their token was created with.
//
// A token item keeps the owner's address from its creation (`ownerEmail`), which may be 180 days
// old. Every management write carries the actor's address from their verified JWT
// (`lastChange.actorEmail`); when the actor is the token's owner, the notifier records it as the
// owner's contact (one item per user, newest write wins). Every email about a user's tokens goes to
// that contact, or to the token's `ownerEmail` while there is none. When a recorded address
// changes, the contact item's stream record makes the notifier send a security notice to both the
// old and the new address (address-change.ts).

export interface OwnerContact {
  readonly accountId: string;
  readonly userId: string;
  readonly email: string;
  /** When the management write that named this address happened (ISO 8601). */
  readonly updatedAt: string;
  /** The address before, when this one replaced another (for the notice). */
  readonly previousEmail: string | undefined;
}

export interface OwnerContacts {
  /** The owner's recorded address (a strongly consistent read); undefined when none was recorded. */
  current(accountId: string, userId: string): Promise<string | undefined>;
  /**
   * Records `email` as the owner's address as of `at`, unless a write at or after `at` is
   * recorded already or the address is the same. `fallbackPrevious` is the address used until now
   * when the user has no contact yet (their token's `ownerEmail`): a first record that differs from
   * it is a change too.
   */
  record(contact: {
    readonly accountId: string;
    readonly userId: string;
    readonly email: string;
    readonly at: string;
    readonly fallbackPrevious: string | undefined;
  }): Promise<void>;
}

/** Addresses compare without case: `Ana@Example.com` is no new address. */
export function sameAddress(a: string | undefined, b: string | undefined): boolean {
  return (a ?? '').trim().toLowerCase() === (b ?? '').trim().toLowerCase();
}

/**
 * The address a token change tells about its owner: the actor's, when the actor is the owner and
 * the change is new (a create, or a change whose lastChange differs from the old image's).
 */
export function ownerAddressOf(
  oldToken: TokenRecord | undefined,
  newToken: TokenRecord | undefined,
): { readonly email: string; readonly at: string } | undefined {
  if (newToken === undefined) return undefined;
  const change = newToken.lastChange;
  if (change.actorUserId !== newToken.userId) return undefined;
  const email = change.actorEmail?.trim();
  if (email === undefined || email === '') return undefined;
  if (
    oldToken !== undefined &&
    oldToken.lastChange.at === change.at &&
    oldToken.lastChange.action === change.action
  )
    return undefined;
  return { email, at: change.at };
}

/** Where an email about this token goes: the owner's recorded address, else its creation-time one. */
export async function recipientOf(
  contacts: OwnerContacts | undefined,
  token: Pick<TokenRecord, 'accountId' | 'userId' | 'ownerEmail'>,
): Promise<string | undefined> {
  const current = await contacts?.current(token.accountId, token.userId);
  if (current !== undefined && current !== '') return current;
  return token.ownerEmail === undefined || token.ownerEmail === '' ? undefined : token.ownerEmail;
}
