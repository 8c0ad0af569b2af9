import { tokenAuditEvent } from './audit.js';
import { ConflictError, ForbiddenError, LimitExceededError, NotFoundError } from './errors.js';
import { hashToken } from './hashing.js';
import { WHOLE_ACCOUNT } from './identity.js';
import { newTokenId } from './ids.js';
import type { CreateTokenInput, ListTokensInput } from './inputs.js';
import { openListCursor } from './list-cursors.js';
import { type Caller, statusOf, type TokenChange, type TokenListing, type TokenRecord } from './model.js';
import type {
  ActiveTokenLimits,
  Clock,
  KeySource,
  Page,
  TokenRepository,
  UsagePlanGateway,
} from './ports.js';
import type { PolicySettings } from './settings.js';
import { generateToken } from './token-format.js';
import { isOverrideClass, limitsAuditValue, usageClassOfToken } from './token-limits.js';
import { resolveTokenPolicy } from './token-policy.js';
import { syncUsageKey, type UsageKeyChange } from './usage-keys/sync-usage-key.js';

// The management use cases over the ports. Each takes only the dependencies it needs, so a handler
// that never hashes builds no key source (and its function gets no kms:Decrypt).
//
// Visibility: a member sees their own tokens, an admin every token of their account. A token the
// caller may not see answers NotFoundError, exactly like a token that does not exist.
//
// Every change hands the repository its audit event, so the change and its record are written in
// one transaction: there is no change without its audit event, and no audit event for a change that
// did not happen.

export interface TokenDeps {
  readonly repository: TokenRepository;
  readonly clock: Clock;
}

/** Listings seal their cursors with a key derived from the HMAC key (list-cursors.ts). */
export interface ListDeps extends TokenDeps {
  readonly keySource: KeySource;
}

/**
 * Putting a token's usage key in place right after a create or edit (design: "a token works
 * immediately"): best effort, so a new token usually passes the gateway before its 201 returns. The
 * usage-key stream consumer (lambdas/usage-keys/) is the guarantee; a failure here is only told to
 * `onUsageKeySyncError` and the request still succeeds.
 */
export interface UsageKeySyncDeps {
  /** Absent: the stream consumer alone puts keys in place. */
  readonly usagePlans?: UsagePlanGateway | undefined;
  readonly onUsageKeySyncError?: ((error: unknown, tokenId: string) => void) | undefined;
}

export interface CreateDeps extends TokenDeps, UsageKeySyncDeps {
  readonly keySource: KeySource;
  readonly settings: PolicySettings;
  /** Token id generator; tests pin it. */
  readonly newId?: () => string;
}

export interface CreatedToken {
  readonly token: TokenRecord;
  /** The plaintext secret: returned to the caller once, never stored or logged. */
  readonly secret: string;
}

/** At most this many repository pages are read to fill one filtered page. */
export const MAX_QUERIES_PER_LIST = 5;

export function changeBy(caller: Caller, action: TokenChange['action'], at: Date): TokenChange {
  return {
    action,
    at: at.toISOString(),
    actorUserId: caller.userId,
    actorRole: caller.role,
    sourceIp: caller.sourceIp,
    userAgent: caller.userAgent,
    // The notifier keeps the owner's address current from this (lambdas/core/notifications/contacts.ts).
    ...(caller.email === undefined || caller.email === '' ? {} : { actorEmail: caller.email }),
  };
}

function canSee(caller: Caller, token: TokenRecord): boolean {
  return token.accountId === caller.accountId && (caller.role === 'admin' || token.userId === caller.userId);
}

export function assertCanWrite(caller: Caller): void {
  if (caller.role === 'viewer') throw new ForbiddenError('Viewers cannot create or change tokens');
}

/** Edits and rotations apply to live tokens only: a revoked or expired token stays as it ended. */
export function assertChangeable(token: TokenRecord, now: Date): void {
  const status = statusOf(token, now);
  if (status !== 'active') throw new ConflictError(`The token is ${status}; it can no longer be changed`);
}

export async function createToken(
  deps: CreateDeps,
  caller: Caller,
  request: CreateTokenInput,
): Promise<CreatedToken> {
  assertCanWrite(caller);
  const now = deps.clock.now();
  const policy = resolveTokenPolicy(deps.settings, request, now);
  const key = await deps.keySource.getKey();
  const { secret, hint } = generateToken(deps.settings.tokenPrefix);
  const token: TokenRecord = {
    id: (deps.newId ?? newTokenId)(),
    userId: caller.userId,
    accountId: caller.accountId,
    ownerEmail: caller.email,
    name: request.name,
    description: request.description,
    scopes: policy.scopes,
    type: policy.type,
    allowedIps: policy.allowedIps,
    hint,
    secretHash: hashToken(key, secret),
    keyVersion: key.version,
    state: 'active',
    createdAt: now.toISOString(),
    expiresAt: policy.expiresAt,
    lastUsedAt: null,
    rotatedAt: null,
    revokedAt: null,
    createdBy: caller.userId,
    lastChange: changeBy(caller, 'created', now),
    version: 1,
    previousSecretHash: null,
    previousSecretNotAfter: null,
    limits: policy.limits,
  };
  const limits: ActiveTokenLimits = {
    perUser: deps.settings.maxActiveTokensPerUser,
    perAccount: deps.settings.maxActiveTokensPerAccount,
    usageKeys: deps.settings.usageKeyBudget,
  };
  await registerLimitClassOf(deps, token);
  const audit = tokenAuditEvent('token.created', caller, token, now, {
    details: token.limits === null ? {} : { limits: limitsAuditValue(token.limits) },
  });
  try {
    await deps.repository.create(token, limits, audit);
  } catch (error) {
    if (!(error instanceof LimitExceededError)) throw error;
    // Expired tokens hold their slots until TTL deletes them (up to ~48 h late) or a sweep releases
    // them; at the limit, release the owner's and the account's expired slots and try once more.
    // The user's first: those are also the account's, and a released slot is not found again.
    const released =
      (await deps.repository.releaseExpiredSlots(caller.accountId, caller.userId, now)) +
      (await deps.repository.releaseExpiredSlots(caller.accountId, undefined, now));
    if (released === 0) throw error;
    await deps.repository.create(token, limits, audit);
  }
  await syncUsageKeyBestEffort(deps, { before: undefined, after: token });
  return { token, secret };
}

/** syncUsageKey after a write; never throws (see UsageKeySyncDeps). */
export async function syncUsageKeyBestEffort(
  deps: UsageKeySyncDeps & { readonly repository: TokenRepository; readonly settings: PolicySettings },
  change: UsageKeyChange,
): Promise<void> {
  if (deps.usagePlans === undefined) return;
  const tokenId = (change.after ?? change.before)?.id ?? '';
  try {
    await syncUsageKey(
      {
        plans: deps.usagePlans,
        settings: deps.settings,
        readToken: (id) => deps.repository.get(id),
      },
      change,
    );
  } catch (error) {
    deps.onUsageKeySyncError?.(error, tokenId);
  }
}

/**
 * A token whose limits need a usage plan of their own (an override class, rate-limits.ts
 * limitClassOf) takes a slot under limitClassBudget first, unless its class has one already:
 * 409 LIMIT_EXCEEDED when the budget is full. A registered class stays registered (its plan stays
 * too, whether or not a token still uses it), so a slot is never given back.
 */
export async function registerLimitClassOf(
  deps: { readonly repository: TokenRepository; readonly settings: PolicySettings },
  token: Pick<TokenRecord, 'type' | 'limits'>,
): Promise<void> {
  if (token.limits === null) return;
  const limitClass = usageClassOfToken(deps.settings, token)?.limitClass;
  if (limitClass === undefined || !isOverrideClass(limitClass)) return;
  await deps.repository.registerLimitClass(limitClass, deps.settings.limitClassBudget);
}

/** Whose tokens a listing or a revoke-all is about, within the caller's account. */
export type TokenOwners = { readonly kind: 'account' } | { readonly kind: 'user'; readonly userId: string };

/**
 * The owners a `?userId=` query names: `*` is the whole account, decided from the query alone and
 * never from a computed target (a caller whose own id were `*` must not get the account by leaving
 * the query out); no query is the caller. Anyone but an admin may name only themself: 403.
 */
export function ownersOf(caller: Caller, requested: string | undefined, forbidden: string): TokenOwners {
  if (requested === WHOLE_ACCOUNT) {
    if (caller.role !== 'admin') throw new ForbiddenError(forbidden);
    return { kind: 'account' };
  }
  const userId = requested ?? caller.userId;
  if (userId !== caller.userId && caller.role !== 'admin') throw new ForbiddenError(forbidden);
  return { kind: 'user', userId };
}

/** Whether a token read back from an index is one of `owners`' in the caller's account. */
export function ownedBy(
  caller: Caller,
  owners: TokenOwners,
  token: Pick<TokenRecord, 'accountId' | 'userId'>,
): boolean {
  return (
    token.accountId === caller.accountId && (owners.kind === 'account' || token.userId === owners.userId)
  );
}

export async function listTokens(
  deps: ListDeps,
  caller: Caller,
  query: ListTokensInput,
): Promise<Page<TokenListing>> {
  const owners = ownersOf(caller, query.userId, "Only an admin can list other users' tokens");
  const cursors = await openListCursor(
    deps.keySource,
    'listTokens',
    caller,
    [query.status, query.userId],
    query.cursor,
  );
  const page = await listTokenPage(deps, caller, owners, query.status, query.limit, cursors.inner);
  return { items: page.items, nextCursor: cursors.seal(page.nextCursor) };
}

async function listTokenPage(
  deps: TokenDeps,
  caller: Caller,
  owners: TokenOwners,
  status: ListTokensInput['status'],
  limit: number,
  startCursor: string | undefined,
): Promise<Page<TokenListing>> {
  // Index partitions are `USER#<accountId>#<userId>` strings, so ids containing `#` could make two
  // partitions coincide; whatever a page holds, only the caller's account (and user) gets through.
  const belongs = (token: TokenListing) => ownedBy(caller, owners, token);
  const fetchPage = async (limit: number, cursor: string | undefined): Promise<Page<TokenListing>> => {
    const page =
      owners.kind === 'account'
        ? await deps.repository.listByAccount(caller.accountId, { limit, cursor })
        : await deps.repository.listByOwner(caller.accountId, owners.userId, { limit, cursor });
    return { items: page.items.filter(belongs), nextCursor: page.nextCursor };
  };

  if (status === 'all') return fetchPage(limit, startCursor);

  // Status depends on the clock (expiry), so it is filtered here. Asking each time for only as many
  // items as are still missing means the page never overflows and the repository's cursor stays exact.
  const now = deps.clock.now();
  const items: TokenListing[] = [];
  let cursor = startCursor;
  for (let queries = 0; queries < MAX_QUERIES_PER_LIST && items.length < limit; queries++) {
    const page = await fetchPage(limit - items.length, cursor);
    items.push(...page.items.filter((token) => statusOf(token, now) === status));
    cursor = page.nextCursor;
    if (cursor === undefined) break;
  }
  return { items, nextCursor: cursor };
}

export async function getToken(deps: TokenDeps, caller: Caller, tokenId: string): Promise<TokenRecord> {
  const token = await deps.repository.get(tokenId);
  if (token === undefined || !canSee(caller, token)) throw new NotFoundError('Token not found');
  return token;
}

/**
 * Revokes a token; revoking a revoked token changes nothing and succeeds. Any role may revoke what
 * it may see (a viewer their own tokens, made while they could still create them): revoking only
 * ever reduces access. An expired token is a 409: it no longer verifies, there is nothing to end,
 * and a "revoked" email about it would be wrong. It stays expired.
 */
export async function revokeToken(deps: TokenDeps, caller: Caller, tokenId: string): Promise<void> {
  const token = await getToken(deps, caller, tokenId);
  if (token.state === 'revoked') return;
  const now = deps.clock.now();
  if (statusOf(token, now) === 'expired') {
    throw new ConflictError('The token has expired; there is nothing left to revoke');
  }
  // The event is built from the record the repository actually revoked (it may have re-read it).
  await deps.repository.revoke(
    token.id,
    changeBy(caller, 'revoked', now),
    (revoked) => tokenAuditEvent('token.revoked', caller, revoked, now),
    token,
  );
}
