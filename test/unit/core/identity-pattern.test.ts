import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { identityFromClaims } from '../../../lambdas/adapters/jwt-identity.js';
import {
  listTokensQuerySchema,
  revokeAllQuerySchema,
  userPathSchema,
} from '../../../lambdas/contract/api-schemas.js';
import { callerContextSchema } from '../../../lambdas/contract/caller-context.js';
import { DEFAULT_POLICY_SETTINGS } from '../../../lambdas/contract/policy-settings.js';
import { UnauthorizedError } from '../../../lambdas/core/errors.js';
import type { HmacKey } from '../../../lambdas/core/hashing.js';
import { IDENTITY_PATTERN, isSafeIdentity } from '../../../lambdas/core/identity.js';
import { createToken, listTokens } from '../../../lambdas/core/token-service.js';
import { callerOf } from '../../../lambdas/http/request.js';
import { DEV_AUDIENCE, DevIdentityProvider, loadOrCreateSigningKey } from '../../../local/dev-identity.js';
import { handleSessionRequest } from '../../../local/dev-identity-routes.js';
import { FUZZ_RUNS } from '../../support/fuzz-arbitraries.js';
import { memberContext, proxyEvent } from '../../support/proxy-events.js';
import { MemoryTokenRepository, revokeAllToCompletion, TestClock, testCaller } from './memory-ports.js';

// Issue #11, item 2: `*` means "the whole account" in `?userId=*`, and the target of GET and
// DELETE /tokens was computed as `query.userId ?? caller.userId`; a member whose JWT `sub` was `*`
// listed and revoked every token of the account by leaving the query out. Identities now match one
// pattern where they enter, and "whole account" is read from the query alone.

const KEY: HmacKey = { version: 'v1', material: Buffer.alloc(32, 7) };
const CLAIMS = { accountId: 'custom:account_id', role: 'custom:role', email: 'email' };

/** Ids real issuers hand out, which must keep working. */
const REAL_IDS = [
  '3f2b8c1e-9d4a-4e6b-8f7a-1c2d3e4f5a6b', // Cognito, Keycloak
  'auth0|5f7c8ec7c33c6c004bbafe82', // Auth0
  'google-oauth2|104872319857412345678',
  '104872319857412345678', // Google, GitHub
  'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ', // Entra ID
  '-_aZ09', // base64url may start with - or _
  'ana@example.com',
  'user-0123456789abcdef0123', // the local dev identity provider
  'a',
  'x'.repeat(256),
];
/** What must never be an identity: sentinels, key separators, controls, spaces, paths. */
const UNSAFE_IDS = [
  '*',
  'a*',
  '#',
  'acme#alice',
  '',
  ' ',
  'a b',
  'a\nb',
  'a\u0000',
  'a\u007f',
  'a/b',
  'x'.repeat(257),
  'é',
  '\u202e',
  'a\ufffd',
];

async function seededAccount() {
  const repository = new MemoryTokenRepository();
  const clock = new TestClock(new Date('2025-03-01T12:00:00.000Z'));
  const deps = {
    repository,
    clock,
    settings: DEFAULT_POLICY_SETTINGS,
    keySource: { getKey: async () => KEY },
    auditLog: repository.auditLog,
  };
  const request = { name: 'CI', description: '', scopes: ['content:read'] };
  for (const userId of ['alice', 'bob', 'root']) {
    await createToken(deps, testCaller({ userId }), request);
  }
  return { deps, repository };
}

describe('the identity pattern', () => {
  it('admits the ids real issuers use, and nothing unsafe', () => {
    for (const id of REAL_IDS) expect(isSafeIdentity(id), id).toBe(true);
    for (const id of UNSAFE_IDS) expect(isSafeIdentity(id), JSON.stringify(id)).toBe(false);
  });

  it('property: every entry point agrees with it (JWT claims, caller context, path, query, dev sign-in)', () => {
    const base = { sub: 'user-1', 'custom:account_id': 'acme', 'custom:role': 'member', exp: 1 };
    const context = { userId: 'user-1', accountId: 'acme', role: 'member', email: '' };
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom(...REAL_IDS, ...UNSAFE_IDS)),
        (id) => {
          const safe = IDENTITY_PATTERN.test(id);
          expect(isSafeIdentity(id)).toBe(safe);
          const claimed = () => identityFromClaims({ ...base, sub: id }, CLAIMS);
          const account = () => identityFromClaims({ ...base, 'custom:account_id': id }, CLAIMS);
          if (safe) {
            expect(claimed().userId).toBe(id);
            expect(account().accountId).toBe(id);
          } else {
            expect(claimed).toThrow(UnauthorizedError);
            expect(account).toThrow(UnauthorizedError);
          }
          expect(callerContextSchema.safeParse({ ...context, userId: id }).success).toBe(safe);
          expect(callerContextSchema.safeParse({ ...context, accountId: id }).success).toBe(safe);
          expect(userPathSchema.safeParse({ userId: id }).success).toBe(safe);
          // `*` is the one value a query may carry besides an identity: "the whole account".
          expect(listTokensQuerySchema.safeParse({ userId: id }).success).toBe(safe || id === '*');
          expect(revokeAllQuerySchema.safeParse({ userId: id }).success).toBe(safe || id === '*');
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('a caller whose own id is `*` (regression)', () => {
  const star = testCaller({ userId: '*', role: 'member' });

  it('GET /tokens without userId lists only their own tokens, not the account', async () => {
    const { deps } = await seededAccount();
    const page = await listTokens(deps, star, { status: 'all', limit: 50 });
    expect(page.items).toEqual([]);
  });

  it('DELETE /tokens without userId revokes only their own tokens, not the account', async () => {
    const { deps, repository } = await seededAccount();
    expect(await revokeAllToCompletion(deps, star, {})).toBe(0);
    expect([...repository.tokens.values()].every((token) => token.state === 'active')).toBe(true);
  });

  it('never gets that far: the caller context refuses the id with a 401', () => {
    const event = proxyEvent({ method: 'GET', resource: '/tokens', caller: memberContext({ userId: '*' }) });
    expect(() => callerOf(event)).toThrow(UnauthorizedError);
    const account = proxyEvent({
      method: 'GET',
      resource: '/tokens',
      caller: memberContext({ accountId: '*' }),
    });
    expect(() => callerOf(account)).toThrow(UnauthorizedError);
  });

  it('an admin still reaches the whole account with `?userId=*`, and only so', async () => {
    const { deps } = await seededAccount();
    const admin = testCaller({ userId: 'root', role: 'admin' });
    expect((await listTokens(deps, admin, { status: 'all', limit: 50, userId: '*' })).items).toHaveLength(3);
    expect((await listTokens(deps, admin, { status: 'all', limit: 50 })).items).toHaveLength(1);
  });
});

describe('the dev sign-in (POST /_local/session) refuses what the API would', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dev-identity-pattern-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const provider = new DevIdentityProvider(loadOrCreateSigningKey(join(dir, 'key.pem')), {
    issuer: 'http://127.0.0.1:4010/_local',
    audience: DEV_AUDIENCE,
    claims: CLAIMS,
  });
  const session = (body: Record<string, unknown>) =>
    handleSessionRequest(provider, JSON.stringify({ email: 'ana@example.com', role: 'member', ...body }));

  it('a user or account id outside the pattern is a 400, and no JWT is signed', () => {
    for (const id of UNSAFE_IDS) {
      expect(session({ accountId: 'acme', userId: id }).statusCode, JSON.stringify(id)).toBe(400);
      expect(session({ accountId: id }).statusCode, JSON.stringify(id)).toBe(400);
      expect(() =>
        provider.issueSession({ email: 'ana@example.com', accountId: id, role: 'admin' }),
      ).toThrow();
    }
  });

  it('ids inside it sign in as before', () => {
    for (const id of REAL_IDS) {
      expect(session({ accountId: 'acme', userId: id }).statusCode, id).toBe(200);
      expect(session({ accountId: id }).statusCode, id).toBe(200);
    }
  });
});
