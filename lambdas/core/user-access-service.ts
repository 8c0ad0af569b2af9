import { actorOf, auditEvent } from './audit.js';
import { ForbiddenError } from './errors.js';
import type { TokenAccessView } from './inputs.js';
import type { Caller, UserAccess } from './model.js';
import type { Clock, TokenRepository, UserAccessRepository } from './ports.js';

// An admin's switch over a user's token access (PUT/GET /users/{userId}/token-access). The target
// is always a user of the caller's own account: the account comes from the caller's JWT, never
// from the request, so an admin cannot reach across accounts whatever id they pass.
//
// Disabling works in two steps: the access item (with its audit event) in one transaction, then
// the fan-out that copies the new state onto each of the user's credential items, which is what
// the authorizer reads. The access item is what stops new tokens at once.

export interface UserAccessDeps {
  readonly userAccess: UserAccessRepository;
  readonly tokens: TokenRepository;
  readonly clock: Clock;
}

function accessView(access: UserAccess, tokensAffected: number): TokenAccessView {
  return {
    userId: access.userId,
    accountId: access.accountId,
    enabled: access.enabled,
    updatedAt: access.updatedAt,
    updatedBy: access.updatedBy,
    tokensAffected,
  };
}

export async function setUserTokenAccess(
  deps: UserAccessDeps,
  caller: Caller,
  userId: string,
  enabled: boolean,
): Promise<TokenAccessView> {
  if (caller.role !== 'admin') throw new ForbiddenError("Only an admin can switch a user's token access");
  const now = deps.clock.now();
  const audit = auditEvent({
    action: enabled ? 'user.token-access-enabled' : 'user.token-access-disabled',
    at: now,
    actor: actorOf(caller),
    accountId: caller.accountId,
    subjectUserId: userId,
  });
  const { access } = await deps.userAccess.set(
    caller.accountId,
    userId,
    enabled,
    { at: now.toISOString(), actorUserId: caller.userId },
    audit,
  );
  // The fan-out runs even when the switch changed nothing: if an earlier call switched it and then
  // failed part-way through the fan-out, repeating the request must finish the job, or some of a
  // disabled user's tokens would go on verifying. Each credential write is conditional on the
  // access generation growing, so credentials already in this state are not written (nor counted).
  const holders = await deps.tokens.listSlotHolders(caller.accountId, userId);
  const affected = holders.length === 0 ? 0 : await deps.userAccess.applyToCredentials(access, holders);
  return accessView(access, affected);
}

/** The caller's own access, or any user's of the account for an admin. */
export async function getUserTokenAccess(
  deps: Pick<UserAccessDeps, 'userAccess'>,
  caller: Caller,
  userId: string,
): Promise<TokenAccessView> {
  if (userId !== caller.userId && caller.role !== 'admin') {
    throw new ForbiddenError("Only an admin can see another user's token access");
  }
  return accessView(await deps.userAccess.get(caller.accountId, userId), 0);
}

/** Why a verified management sign-in is refused, if it is (the JWT authorizer's check). */
type ManagementRefusal = 'ACCESS_DISABLED' | 'SESSION_ENDED';

/**
 * The same switch over management access (issue #18 item 9): while a user's access is off, their
 * management sign-ins are refused too (401), whatever their JWT says; and a JWT issued before the
 * latest switch (off or on) is refused, so that switching ends every session an ID token started
 * earlier (a demoted admin's token still says `admin` until it expires). The user signs in again and
 * gets a token with their current role. A JWT without `iat` counts as issued before any switch.
 */
export function managementRefusal(
  access: UserAccess,
  issuedAtSeconds: number | undefined,
): ManagementRefusal | undefined {
  if (!access.enabled) return 'ACCESS_DISABLED';
  if (access.updatedAt === null) return undefined;
  const issuedAtMs = issuedAtSeconds === undefined ? Number.NEGATIVE_INFINITY : issuedAtSeconds * 1000;
  return issuedAtMs < Date.parse(access.updatedAt) ? 'SESSION_ENDED' : undefined;
}
