import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { identityFromClaims } from '../../../lambdas/adapters/jwt-identity.js';
import { createTokenRequestSchema } from '../../../lambdas/contract/api-schemas.js';
import { callerContextSchema } from '../../../lambdas/contract/caller-context.js';
import { parsePolicySettings } from '../../../lambdas/contract/policy-settings.js';
import { MANAGEMENT_ROUTES } from '../../../lambdas/contract/routes.js';
import { ValidationError } from '../../../lambdas/core/errors.js';
import type { HmacKey } from '../../../lambdas/core/hashing.js';
import { ROLES } from '../../../lambdas/core/model.js';
import { lookupRouteScope, parseRouteScopeMap } from '../../../lambdas/core/route-scopes.js';
import { scopeCatalogue, TOKEN_TYPE_NAME_PATTERN, tokenTypeNamed } from '../../../lambdas/core/settings.js';
import { resolveTokenPolicy, resolveTokenUpdate } from '../../../lambdas/core/token-policy.js';
import { createToken } from '../../../lambdas/core/token-service.js';
import { FUZZ_RUNS } from '../../support/fuzz-arbitraries.js';
import { MemoryTokenRepository, TestClock, testCaller } from './memory-ports.js';

// Issue #11, item 1: lookups keyed by request or configuration data must find only what was
// configured. Token types were looked up on a plain object, so `"type": "constructor"` found
// Object.prototype.constructor: no allowedScopes, no requireIpAllowlist, any scope and no allowlist.

const NOW = new Date('2025-03-01T12:00:00.000Z');
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

/** A deployment whose only type is locked down: every token reads reports from an allowlist. */
const LOCKED = parsePolicySettings({
  tokenTypes: {
    restricted: {
      description: 'Reporting from known addresses only.',
      allowedScopes: ['reports:read'],
      requireIpAllowlist: true,
    },
  },
  defaultTokenType: 'restricted',
});

/** Any string, with every Object.prototype member name and the configured names mixed in often. */
const lookupKey = (configured: readonly string[]) =>
  fc.oneof(
    fc.constantFrom(...PROTOTYPE_NAMES),
    fc.constantFrom(...configured),
    fc.string(),
    fc.string({ unit: 'grapheme-ascii' }),
    fc.constantFrom(...PROTOTYPE_NAMES).map((name) => name.toLowerCase()),
  );

describe('token types named by a request (regression: "type": "constructor")', () => {
  it('a create naming an Object.prototype member is a 400 on `type`, never a token without restrictions', async () => {
    const repository = new MemoryTokenRepository();
    const key: HmacKey = { version: 'v1', material: Buffer.alloc(32, 7) };
    const deps = {
      repository,
      clock: new TestClock(NOW),
      settings: LOCKED,
      keySource: { getKey: async () => key },
    };
    for (const type of ['constructor', 'valueof', 'tostring', 'hasownproperty']) {
      const created = createToken(deps, testCaller(), {
        name: 'escape',
        description: '',
        scopes: ['system:write'],
        type,
      });
      await expect(created).rejects.toBeInstanceOf(ValidationError);
      await expect(created).rejects.toMatchObject({
        details: expect.arrayContaining([expect.objectContaining({ path: 'type' })]),
      });
    }
    expect(repository.tokens.size).toBe(0);
  });

  it('the request schema gives `type` the configuration’s name pattern: `__proto__`, `toString` are 400s', () => {
    const body = { name: 'x', scopes: ['reports:read'] };
    for (const type of [
      '__proto__',
      'toString',
      'hasOwnProperty',
      'valueOf',
      'Standard',
      '',
      'a'.repeat(33),
    ]) {
      expect(createTokenRequestSchema.safeParse({ ...body, type }).success, type).toBe(false);
    }
    expect(createTokenRequestSchema.safeParse({ ...body, type: 'restricted' }).success).toBe(true);
    expect(TOKEN_TYPE_NAME_PATTERN.test('constructor')).toBe(true); // the lookup, not the pattern, stops it
  });

  it('an edit of a token stored with such a type cannot widen it (PATCH had the same hole)', () => {
    const current = {
      type: 'constructor',
      createdAt: NOW.toISOString(),
      name: 'stored before the fix',
      description: '',
      scopes: ['reports:read'],
      allowedIps: ['203.0.113.0/24'],
      expiresAt: null,
    };
    expect(() =>
      resolveTokenUpdate(LOCKED, current, { scopes: ['reports:read', 'system:write'] }, NOW),
    ).toThrow(ValidationError);
    expect(() => resolveTokenUpdate(LOCKED, current, { allowedIps: [] }, NOW)).toThrow(ValidationError);
  });

  it('a configured defaultTokenType must be an own type: `constructor` is refused at synth', () => {
    expect(() => parsePolicySettings({ defaultTokenType: 'constructor' })).toThrow(/defaultTokenType/);
    expect(() => parsePolicySettings({ defaultTokenType: '__proto__' })).toThrow(/defaultTokenType/);
  });
});

describe('property: a lookup keyed by user input finds only what was configured', () => {
  it('token types', () => {
    const configured = Object.keys(LOCKED.tokenTypes);
    fc.assert(
      fc.property(lookupKey(configured), (name) => {
        const found = tokenTypeNamed(LOCKED, name);
        if (configured.includes(name)) expect(found).toBe(LOCKED.tokenTypes[name]);
        else expect(found).toBeUndefined();
        let resolved: string | undefined;
        try {
          resolved = resolveTokenPolicy(
            LOCKED,
            { scopes: ['reports:read'], type: name, allowedIps: ['203.0.113.7'] },
            NOW,
          ).type;
        } catch (error) {
          expect(error).toBeInstanceOf(ValidationError);
        }
        if (resolved !== undefined) expect(configured).toContain(resolved);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('scopes', () => {
    const settings = parsePolicySettings({});
    const catalogue = scopeCatalogue(settings);
    fc.assert(
      fc.property(lookupKey(catalogue), (scope) => {
        const accepted = (() => {
          try {
            return resolveTokenPolicy(settings, { scopes: [scope] }, NOW).scopes;
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
            return undefined;
          }
        })();
        if (accepted !== undefined) expect(catalogue).toContain(scope);
        else expect(catalogue).not.toContain(scope);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('route→scope maps', () => {
    const map = parseRouteScopeMap({ 'GET /reports/{id}': 'reports:read', 'ANY /jobs': 'system:write' });
    const routes = ['/reports/{id}', '/jobs'];
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'POST', 'ANY', 'DELETE'),
        fc.oneof(
          lookupKey(routes),
          lookupKey(routes).map((route) => `/${route}`),
        ),
        (method, route) => {
          const match = lookupRouteScope(map, method, route);
          if (match !== undefined) {
            expect(Object.keys(map)).toContain(match.key);
            expect(match.scope).toBe(map[match.key]);
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
    // A map whose keys are prototype names is not a map: refused, never half-read.
    for (const name of PROTOTYPE_NAMES) {
      expect(() => parseRouteScopeMap(JSON.parse(`{${JSON.stringify(name)}: "reports:read"}`))).toThrow();
    }
  });

  it('roles: the caller context, the JWT claim and the route table know only the three roles', () => {
    const claims = { accountId: 'custom:account_id', role: 'custom:role', email: 'email' };
    fc.assert(
      fc.property(lookupKey([...ROLES]), (role) => {
        const known = (ROLES as readonly string[]).includes(role);
        const context = { userId: 'user-1', accountId: 'acme', role, email: '' };
        expect(callerContextSchema.safeParse(context).success).toBe(known);
        const payload = { sub: 'user-1', 'custom:account_id': 'acme', 'custom:role': role, exp: 1 };
        if (known) expect(identityFromClaims(payload, claims).role).toBe(role);
        else expect(() => identityFromClaims(payload, claims)).toThrow();
        for (const route of MANAGEMENT_ROUTES) {
          if ((route.roles as readonly string[]).includes(role)) expect(known).toBe(true);
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('JWT claim names from configuration: a name that is an Object.prototype member finds nothing', () => {
    const payload = { sub: 'user-1', exp: 1, 'custom:role': 'admin', 'custom:account_id': 'acme' };
    for (const name of PROTOTYPE_NAMES) {
      expect(() =>
        identityFromClaims(payload, { accountId: name, role: 'custom:role', email: 'email' }),
      ).toThrow();
      expect(() =>
        identityFromClaims(payload, { accountId: 'custom:account_id', role: name, email: 'email' }),
      ).toThrow();
      // An email claim that is not there is no email, not Object.prototype's member.
      expect(
        identityFromClaims(payload, { accountId: 'custom:account_id', role: 'custom:role', email: name })
          .email,
      ).toBeUndefined();
    }
  });
});
