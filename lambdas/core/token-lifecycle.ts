import { diffToken, tokenAuditEvent } from './audit.js';
import { forEachBounded } from './bounded.js';
import { hashToken } from './hashing.js';
import type { RotateTokenInput, UpdateTokenInput } from './inputs.js';
import { type Caller, statusOf, type TokenChange, type TokenRecord } from './model.js';
import type { KeySource } from './ports.js';
import type { PolicySettings } from './settings.js';
import { generateToken } from './token-format.js';
import { resolveLimitsUpdate, sameOverride } from './token-limits.js';
import { resolveTokenUpdate } from './token-policy.js';
import {
  assertCanWrite,
  assertChangeable,
  type CreatedToken,
  changeBy,
  getToken,
  ownedBy,
  registerLimitClassOf,
  syncUsageKeyBestEffort,
  type TokenDeps,
  type TokenOwners,
  type UsageKeySyncDeps,
} from './token-service.js';

// A token's life after creation: edits, rotations and "revoke all". Same visibility as the rest
// of the service (token-service.ts): another user's token is "not found", a viewer changes nothing.
// Each write is conditional on the version read here, so a change that raced another one is a 409
// CONFLICT from the repository rather than a lost update.

export interface UpdateDeps extends TokenDeps, UsageKeySyncDeps {
  readonly settings: PolicySettings;
}

export interface RotateDeps extends TokenDeps {
  readonly keySource: KeySource;
  readonly settings: PolicySettings;
}

/**
 * Revoke-all works on at most this many tokens at a time: enough to finish a user's tokens in a
 * few round trips, few enough not to burst an account's limit counters into transaction conflicts.
 */
const REVOKE_ALL_CONCURRENCY = 8;

function nextVersion(current: TokenRecord, change: TokenChange): Pick<TokenRecord, 'version' | 'lastChange'> {
  return { version: current.version + 1, lastChange: change };
}

/**
 * PATCH /tokens/{id}: the owner or an admin of the account edits a live token. An edit that changes
 * nothing writes nothing (no version, no audit event) and returns the token as it is.
 */
export async function updateToken(
  deps: UpdateDeps,
  caller: Caller,
  tokenId: string,
  request: UpdateTokenInput,
): Promise<TokenRecord> {
  assertCanWrite(caller);
  const current = await getToken(deps, caller, tokenId);
  const now = deps.clock.now();
  assertChangeable(current, now);
  const resolved = resolveTokenUpdate(deps.settings, current, request, now);
  const limits = resolveLimitsUpdate(deps.settings, current, request.limits, caller.role);
  const edited: TokenRecord = { ...current, ...resolved, limits };
  const changes = diffToken(current, edited);
  if (changes.length === 0) return current;
  const limitsChanged = !sameOverride(current.limits, limits);
  if (limitsChanged) await registerLimitClassOf(deps, edited);
  const next: TokenRecord = { ...edited, ...nextVersion(current, changeBy(caller, 'updated', now)) };
  await deps.repository.update(
    current,
    next,
    tokenAuditEvent('token.updated', caller, next, now, { changes }),
  );
  // The key moves to its new plan now rather than when the stream gets to it (nothing to do when
  // the limit class stays the same: syncUsageKey sees that).
  if (limitsChanged) await syncUsageKeyBestEffort(deps, { before: current, after: next });
  return next;
}

/**
 * POST /tokens/{id}/rotate: a new secret for the same token id. The old secret keeps working for
 * `gracePeriodSeconds` (0 = it stops now), so a client can be redeployed without downtime.
 */
export async function rotateToken(
  deps: RotateDeps,
  caller: Caller,
  tokenId: string,
  request: RotateTokenInput,
): Promise<CreatedToken> {
  assertCanWrite(caller);
  const current = await getToken(deps, caller, tokenId);
  const now = deps.clock.now();
  assertChangeable(current, now);
  const key = await deps.keySource.getKey();
  const { secret, hint } = generateToken(deps.settings.tokenPrefix);
  const graceMs = request.gracePeriodSeconds * 1000;
  const next: TokenRecord = {
    ...current,
    secretHash: hashToken(key, secret),
    hint,
    keyVersion: key.version,
    rotatedAt: now.toISOString(),
    previousSecretHash: current.secretHash,
    previousSecretNotAfter: new Date(now.getTime() + graceMs).toISOString(),
    ...nextVersion(current, changeBy(caller, 'rotated', now)),
  };
  await deps.repository.rotate(
    current,
    next,
    tokenAuditEvent('token.rotated', caller, next, now, {
      details: { gracePeriodSeconds: request.gracePeriodSeconds },
    }),
  );
  return { token: next, secret };
}

/**
 * The revocations of a revoke-all: each of `ids` that is an active token of `owners` is revoked
 * with `change` (which names the revoke-all), at most `concurrency` at a time; `onRevoked` counts
 * those this call revoked. `shouldStop` (checked before each token) ends it early: a job's slice
 * that ran out of time (revoke-all-job.ts). Returns whether every id was looked at.
 */
export async function revokeOwnedTokens(
  /** concurrency: how many tokens are read and revoked at once; default REVOKE_ALL_CONCURRENCY. */
  deps: TokenDeps & { readonly concurrency?: number },
  caller: Caller,
  owners: TokenOwners,
  ids: readonly string[],
  change: TokenChange,
  onRevoked: () => void,
  shouldStop: () => boolean = () => false,
): Promise<boolean> {
  let complete = true;
  await forEachBounded(ids, deps.concurrency ?? REVOKE_ALL_CONCURRENCY, async (id) => {
    if (shouldStop()) {
      complete = false;
      return;
    }
    const now = new Date(change.at);
    const token = await deps.repository.get(id);
    // The account index is eventually consistent and shared by key strings: check what came back.
    if (token === undefined || !ownedBy(caller, owners, token)) return;
    // Expired tokens no longer verify; revoking them would only send a misleading email.
    if (statusOf(token, now) !== 'active') return;
    const result = await deps.repository.revoke(
      token.id,
      change,
      (record) => tokenAuditEvent('token.revoked', caller, record, now, { details: { bulk: true } }),
      token,
    );
    if (result !== undefined) onRevoked();
  });
  return complete;
}

export { forEachBounded };
