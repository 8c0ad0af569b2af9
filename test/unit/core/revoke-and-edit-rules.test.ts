import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SETTINGS } from '../../../lambdas/contract/policy-settings.js';
import { routeNamed } from '../../../lambdas/contract/routes.js';
import { ConflictError, TokenAccessDisabledError } from '../../../lambdas/core/errors.js';
import type { HmacKey } from '../../../lambdas/core/hashing.js';
import type { TokenRecord } from '../../../lambdas/core/model.js';
import { type TokenStreamChange, tokenEventFromChange } from '../../../lambdas/core/notifications/events.js';
import { rotateToken, updateToken } from '../../../lambdas/core/token-lifecycle.js';
import { createToken, revokeToken } from '../../../lambdas/core/token-service.js';
import { setUserTokenAccess } from '../../../lambdas/core/user-access-service.js';
import {
  MemoryTokenRepository,
  MemoryUserAccessRepository,
  revokeAllToCompletion,
  TestClock,
  testCaller,
} from './memory-ports.js';

// Issue #11, the management API's "also" items: owners may always revoke their own tokens whatever
// their role now; a disabled user cannot edit their tokens; an expired token is never revoked.

const KEY: HmacKey = { version: 'v1', material: Buffer.alloc(32, 7) };
const DAY_MS = 86_400_000;

function setup() {
  const repository = new MemoryTokenRepository();
  const clock = new TestClock(new Date('2025-03-01T12:00:00.000Z'));
  const deps = {
    repository,
    clock,
    settings: DEFAULT_POLICY_SETTINGS,
    keySource: { getKey: async () => KEY },
    auditLog: repository.auditLog,
  };
  const accessDeps = { userAccess: new MemoryUserAccessRepository(repository), tokens: repository, clock };
  return { repository, clock, deps, accessDeps };
}

const alice = testCaller();
const demoted = testCaller({ role: 'viewer' }); // alice, a viewer now
const admin = testCaller({ userId: 'root', role: 'admin' });
const create = (context: ReturnType<typeof setup>, expiresInDays = 30) =>
  createToken(context.deps, alice, {
    name: 'CI',
    description: '',
    scopes: ['content:read'],
    expiresInDays,
  }).then((created) => created.token);

describe('an owner demoted to viewer still revokes their own tokens (regression: 403)', () => {
  it('the route table lets every role reach both revoke routes', () => {
    expect(routeNamed('revokeToken').roles).toContain('viewer');
    expect(routeNamed('revokeAllTokens').roles).toContain('viewer');
  });

  it('single revoke and revoke-all of their own', async () => {
    const context = setup();
    const first = await create(context);
    const second = await create(context);
    await revokeToken(context.deps, demoted, first.id);
    expect(context.repository.tokens.get(first.id)?.state).toBe('revoked');
    expect(await revokeAllToCompletion(context.deps, demoted, {})).toBe(1);
    expect(context.repository.tokens.get(second.id)?.state).toBe('revoked');
  });

  it('but still cannot create, edit or rotate', async () => {
    const context = setup();
    const token = await create(context);
    await expect(updateToken(context.deps, demoted, token.id, { name: 'x' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(
      rotateToken(context.deps, demoted, token.id, { gracePeriodSeconds: 0 }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});

describe('a user whose token access is disabled cannot edit their tokens (regression: PATCH widened them)', () => {
  it('PATCH is a 403 for the owner and for an admin, and changes nothing; revoking still works', async () => {
    const context = setup();
    const token = await create(context);
    await setUserTokenAccess(context.accessDeps, admin, 'alice', false);
    const widen = { scopes: ['content:read', 'system:write'] };
    await expect(updateToken(context.deps, alice, token.id, widen)).rejects.toBeInstanceOf(
      TokenAccessDisabledError,
    );
    await expect(updateToken(context.deps, admin, token.id, widen)).rejects.toBeInstanceOf(
      TokenAccessDisabledError,
    );
    expect(context.repository.tokens.get(token.id)).toEqual(token);
    expect(context.repository.auditLog.all().map((event) => event.action)).not.toContain('token.updated');
    await revokeToken(context.deps, alice, token.id);
    expect(context.repository.tokens.get(token.id)?.state).toBe('revoked');
  });

  it('once enabled again, edits work as before', async () => {
    const context = setup();
    const token = await create(context);
    await setUserTokenAccess(context.accessDeps, admin, 'alice', false);
    await setUserTokenAccess(context.accessDeps, admin, 'alice', true);
    expect((await updateToken(context.deps, alice, token.id, { name: 'renamed' })).name).toBe('renamed');
  });
});

describe('an expired token is never revoked (regression: it became "revoked" and its owner was emailed)', () => {
  it('single revoke: 409 CONFLICT; the token stays expired, no audit event, no slot change', async () => {
    const context = setup();
    const token = await create(context, 7);
    context.clock.advance(8 * DAY_MS);
    const slotsBefore = context.repository.activeCount('acct-1');
    const revoking = revokeToken(context.deps, alice, token.id);
    await expect(revoking).rejects.toBeInstanceOf(ConflictError);
    await expect(revoking).rejects.toThrow(/expired/);
    expect(context.repository.tokens.get(token.id)).toEqual(token);
    expect(context.repository.activeCount('acct-1')).toBe(slotsBefore);
    expect(context.repository.auditLog.all().map((event) => event.action)).toEqual(['token.created']);
  });

  it('revoke-all skips expired tokens and revokes the live ones', async () => {
    const context = setup();
    const expiring = await create(context, 7);
    const live = await create(context, 30);
    context.clock.advance(8 * DAY_MS);
    expect(await revokeAllToCompletion(context.deps, alice, {})).toBe(1);
    expect(context.repository.tokens.get(expiring.id)?.state).toBe('active');
    expect(context.repository.tokens.get(live.id)?.state).toBe('revoked');
  });

  it('the notifier sends no "revoked" email for a token that had expired before it was revoked', async () => {
    const context = setup();
    const token = await create(context, 7);
    const revokedAt = new Date(Date.parse(token.expiresAt ?? '') + 1000).toISOString();
    const revoked: TokenRecord = {
      ...token,
      state: 'revoked',
      revokedAt,
      lastChange: { ...token.lastChange, action: 'revoked', at: revokedAt },
      version: 2,
    };
    const change: TokenStreamChange = {
      eventName: 'MODIFY',
      oldToken: token,
      newToken: revoked,
      removedByService: false,
      bulk: false,
    };
    expect(tokenEventFromChange(change)).toBeUndefined();
    const inTime = {
      ...revoked,
      revokedAt: token.createdAt,
      lastChange: { ...revoked.lastChange, at: token.createdAt },
    };
    expect(tokenEventFromChange({ ...change, newToken: inTime })).toMatchObject({ kind: 'revoked' });
  });
});
