import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SETTINGS, parsePolicySettings } from '../../../lambdas/contract/policy-settings.js';
import { ValidationError } from '../../../lambdas/core/errors.js';
import { isValidAllowlistEntry } from '../../../lambdas/core/ip-allowlist.js';
import { scopeCatalogue } from '../../../lambdas/core/settings.js';
import {
  defaultExpiryDays,
  normaliseAllowedIp,
  policyView,
  resolveTokenPolicy,
  resolveTokenUpdate,
  type TokenPolicyRequest,
  type TokenUpdateRequest,
} from '../../../lambdas/core/token-policy.js';

const NOW = new Date('2025-03-01T12:00:00.000Z');
const DAY = 86_400_000;
const settings = DEFAULT_POLICY_SETTINGS;
const base: TokenPolicyRequest = { scopes: ['content:read'] };

function detailsOf(request: TokenPolicyRequest, policy = settings): { path: string; message: string }[] {
  try {
    resolveTokenPolicy(policy, request, NOW);
  } catch (error) {
    if (error instanceof ValidationError) return [...(error.details ?? [])];
    throw error;
  }
  return [];
}

describe('expiry', () => {
  it('neither field: the default expiry, 30 days when 30 is a preset', () => {
    expect(defaultExpiryDays(settings)).toBe(30);
    expect(resolveTokenPolicy(settings, base, NOW).expiresAt).toBe(
      new Date(NOW.getTime() + 30 * DAY).toISOString(),
    );
  });

  it('neither field and no 30-day preset: the smallest preset', () => {
    const policy = parsePolicySettings({ expiryPresetsDays: [90, 14, 60] });
    expect(defaultExpiryDays(policy)).toBe(14);
    expect(resolveTokenPolicy(policy, base, NOW).expiresAt).toBe(
      new Date(NOW.getTime() + 14 * DAY).toISOString(),
    );
  });

  it('a preset sets the expiry that many days ahead', () => {
    for (const days of settings.expiryPresetsDays) {
      expect(resolveTokenPolicy(settings, { ...base, expiresInDays: days }, NOW).expiresAt).toBe(
        new Date(NOW.getTime() + days * DAY).toISOString(),
      );
    }
  });

  it('a day count that is not a preset is refused', () => {
    expect(detailsOf({ ...base, expiresInDays: 31 })).toEqual([
      { path: 'expiresInDays', message: 'must be one of 7, 30, 90, 180' },
    ]);
  });

  it('an explicit expiresAt in the future and within the maximum lifetime is kept, normalised to UTC', () => {
    const resolved = resolveTokenPolicy(settings, { ...base, expiresAt: '2025-03-10T14:00:00+02:00' }, NOW);
    expect(resolved.expiresAt).toBe('2025-03-10T12:00:00.000Z');
    const atLimit = new Date(NOW.getTime() + 180 * DAY).toISOString();
    expect(resolveTokenPolicy(settings, { ...base, expiresAt: atLimit }, NOW).expiresAt).toBe(atLimit);
  });

  it('refuses an expiresAt in the past, now, or beyond the maximum lifetime', () => {
    for (const expiresAt of [
      '2025-02-01T00:00:00Z',
      NOW.toISOString(),
      new Date(NOW.getTime() + 180 * DAY + 1).toISOString(),
    ]) {
      const details = detailsOf({ ...base, expiresAt });
      expect(details).toHaveLength(1);
      expect(details[0]?.path).toBe('expiresAt');
    }
  });

  it('"expiresAt": null means never, only where the deployment allows it', () => {
    expect(detailsOf({ ...base, expiresAt: null })).toEqual([
      { path: 'expiresAt', message: 'this deployment does not allow tokens that never expire' },
    ]);
    const permissive = parsePolicySettings({ allowNoExpiry: true });
    expect(resolveTokenPolicy(permissive, { ...base, expiresAt: null }, NOW).expiresAt).toBeNull();
    // Leaving both out still gets the default expiry: no immortal token by omission.
    expect(resolveTokenPolicy(permissive, base, NOW).expiresAt).not.toBeNull();
  });

  it('refuses both fields at once', () => {
    expect(detailsOf({ ...base, expiresInDays: 7, expiresAt: '2025-03-05T00:00:00Z' })[0]?.path).toBe(
      'expiresAt',
    );
  });
});

describe('scopes and token types', () => {
  it('accepts catalogue scopes for the default type', () => {
    const resolved = resolveTokenPolicy(settings, { scopes: ['content:read', 'reports:write'] }, NOW);
    expect(resolved).toMatchObject({
      type: 'standard',
      scopes: ['content:read', 'reports:write'],
      allowedIps: [],
    });
  });

  it('refuses unknown scopes and duplicates, each with its index', () => {
    expect(detailsOf({ scopes: ['content:read', 'nope:read', 'content:read', 'content:delete'] })).toEqual([
      { path: 'scopes.1', message: expect.stringContaining('unknown scope "nope:read"') },
      { path: 'scopes.2', message: 'duplicate of scopes.0' },
      { path: 'scopes.3', message: expect.stringContaining('unknown scope') },
    ]);
  });

  it('refuses an unknown type', () => {
    expect(detailsOf({ ...base, type: 'platinum' })).toEqual([
      { path: 'type', message: expect.stringContaining('unknown token type "platinum"') },
    ]);
  });

  it("restricts scopes to the type's allowedScopes and requires its IP allowlist", () => {
    expect(detailsOf({ scopes: ['reports:read', 'content:write'], type: 'restricted' })).toEqual([
      { path: 'scopes.1', message: 'scope "content:write" is not allowed for token type "restricted"' },
      {
        path: 'allowedIps',
        message: 'token type "restricted" requires at least one allowed IP address or CIDR',
      },
    ]);
    expect(
      resolveTokenPolicy(
        settings,
        { scopes: ['reports:read'], type: 'restricted', allowedIps: ['203.0.113.9'] },
        NOW,
      ),
    ).toMatchObject({ type: 'restricted', allowedIps: ['203.0.113.9/32'] });
  });

  it('reports every problem of a request at once', () => {
    const details = detailsOf({
      scopes: ['x:read'],
      type: 'restricted',
      expiresInDays: 3,
      allowedIps: ['bogus'],
    });
    expect(details.map((detail) => detail.path).sort()).toEqual([
      'allowedIps.0',
      'expiresInDays',
      'scopes.0',
    ]);
  });
});

describe('allowed IPs', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1/32'],
    ['10.0.0.1/32', '10.0.0.1/32'],
    ['10.0.0.7/24', '10.0.0.0/24'],
    [' 192.168.1.0/16 ', '192.168.0.0/16'],
    ['2001:DB8::1', '2001:db8::1/128'],
    ['2001:db8:0:0:0:0:0:1/64', '2001:db8::/64'],
    ['2001:db8::/32', '2001:db8::/32'],
    ['::ffff:10.0.0.1', '10.0.0.1/32'],
    ['::ffff:10.0.0.0/120', '10.0.0.0/24'],
    ['::1', '::1/128'],
    ['fe80::1:2:3:4/10', 'fe80::/10'],
  ])('%s → %s', (entry, cidr) => {
    expect(normaliseAllowedIp(entry)).toEqual({ cidr });
  });

  it.each([
    'bogus',
    '10.0.0',
    '10.0.0.256',
    '010.0.0.1',
    '10.0.0.1/33',
    '10.0.0.1/-1',
    '10.0.0.1/',
    '10.0.0.1/2x',
    '0.0.0.0/0',
    '::/0',
    '2001:db8::1/129',
    'fe80::1%eth0',
    '',
    '10.0.0.1/24/8',
  ])('refuses %j', (entry) => {
    expect(normaliseAllowedIp(entry)).toHaveProperty('error');
  });

  it('refuses duplicates after normalisation', () => {
    expect(detailsOf({ ...base, allowedIps: ['10.0.0.1', '10.0.0.1/32'] })).toEqual([
      { path: 'allowedIps.1', message: 'duplicate of allowedIps.0 (10.0.0.1/32)' },
    ]);
  });

  it('every normalised entry is canonical, idempotent and understood by the gateway allowlist', () => {
    const ipv4 = fc
      .ipV4()
      .chain((address) => fc.tuple(fc.constant(address), fc.integer({ min: 1, max: 32 })));
    const ipv6 = fc
      .ipV6()
      .chain((address) => fc.tuple(fc.constant(address), fc.integer({ min: 1, max: 128 })));
    fc.assert(
      fc.property(fc.oneof(ipv4, ipv6), fc.boolean(), ([address, prefix], withPrefix) => {
        const result = normaliseAllowedIp(withPrefix ? `${address}/${prefix}` : address);
        if (!('cidr' in result)) throw new Error(`refused ${address}/${prefix}: ${result.error}`);
        const [network = '', length = ''] = result.cidr.split('/');
        expect(isIP(network)).not.toBe(0);
        expect(normaliseAllowedIp(result.cidr)).toEqual(result);
        expect(isValidAllowlistEntry(result.cidr)).toBe(true);
        expect(Number(length)).toBeGreaterThan(0);
      }),
    );
  });

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (entry) => {
        const result = normaliseAllowedIp(entry);
        expect('cidr' in result || 'error' in result).toBe(true);
      }),
    );
  });
});

describe('policy view', () => {
  it('exposes presets, default expiry, limits, the catalogue and resolved token types', () => {
    const view = policyView(settings);
    expect(view).toMatchObject({
      tokenPrefix: 'atk',
      expiryPresetsDays: [7, 30, 90, 180],
      defaultExpiryDays: 30,
      maxLifetimeDays: 180,
      allowNoExpiry: false,
      limits: { maxActiveTokensPerUser: 10, maxActiveTokensPerAccount: 100, maxScopesPerToken: 50 },
      defaultTokenType: 'standard',
      revocationWindowSeconds: 60,
    });
    expect(view.scopeCatalogue).toContain('bulk-data:write');
    const standard = view.tokenTypes.find((type) => type.name === 'standard');
    expect(standard?.allowedScopes).toEqual(view.scopeCatalogue);
    expect(view.tokenTypes.find((type) => type.name === 'restricted')).toMatchObject({
      requireIpAllowlist: true,
      allowedScopes: ['reports:read', 'content:read', 'products:read'],
    });
  });
});

describe('resolveTokenUpdate', () => {
  const current = {
    name: 'CI',
    description: '',
    scopes: ['content:read', 'reports:read'],
    allowedIps: ['10.0.0.0/24'],
    expiresAt: new Date(NOW.getTime() + 30 * DAY).toISOString(),
    type: 'standard',
    createdAt: new Date(NOW.getTime() - 10 * DAY).toISOString(),
  };

  function updateDetails(request: TokenUpdateRequest, policy = settings, token = current) {
    try {
      resolveTokenUpdate(policy, token, request, NOW);
    } catch (error) {
      if (error instanceof ValidationError) return [...(error.details ?? [])];
      throw error;
    }
    return [];
  }

  it('absent fields stay as they are; given ones are resolved', () => {
    expect(resolveTokenUpdate(settings, current, {}, NOW)).toEqual({
      name: 'CI',
      description: '',
      scopes: current.scopes,
      allowedIps: current.allowedIps,
      expiresAt: current.expiresAt,
    });
    expect(
      resolveTokenUpdate(
        settings,
        current,
        { allowedIps: ['2001:DB8::1', '10.0.0.7'], description: 'd' },
        NOW,
      ),
    ).toMatchObject({ allowedIps: ['2001:db8::1/128', '10.0.0.7/32'], description: 'd' });
  });

  it('the same members in another order, or the same instant written differently, are no change', () => {
    const resolved = resolveTokenUpdate(
      settings,
      current,
      {
        scopes: ['reports:read', 'content:read'],
        allowedIps: ['10.0.0.9/24'],
        expiresAt: current.expiresAt.replace('Z', '+00:00'),
      },
      NOW,
    );
    expect(resolved.scopes).toBe(current.scopes);
    expect(resolved.allowedIps).toBe(current.allowedIps);
    expect(resolved.expiresAt).toBe(current.expiresAt);
  });

  it('an unchanged field is not re-checked against a policy tightened since', () => {
    const tightened = parsePolicySettings({ maxLifetimeDays: 7, expiryPresetsDays: [7] });
    expect(
      resolveTokenUpdate(tightened, current, { name: 'x', expiresAt: current.expiresAt }, NOW).name,
    ).toBe('x');
    expect(updateDetails({ expiresAt: new Date(NOW.getTime() + DAY).toISOString() }, tightened)).toEqual([
      { path: 'expiresAt', message: expect.stringContaining('7 days after the token was created') },
    ]);
  });

  it('collects every problem at once, with the create paths', () => {
    expect(
      updateDetails({
        scopes: ['nope:read', 'content:read', 'content:read'],
        allowedIps: ['x', '0.0.0.0/0'],
      }),
    ).toEqual([
      { path: 'scopes.0', message: expect.stringContaining('unknown scope') },
      { path: 'scopes.2', message: 'duplicate of scopes.1' },
      { path: 'allowedIps.0', message: expect.stringContaining('IPv4 or IPv6') },
      { path: 'allowedIps.1', message: expect.stringContaining('/0') },
    ]);
  });

  it('a token whose type is no longer configured keeps its scopes and allowlist', () => {
    const orphan = { ...current, type: 'retired' };
    expect(updateDetails({ scopes: ['content:read'] }, settings, orphan)).toEqual([
      { path: 'scopes', message: expect.stringContaining('no longer configured') },
    ]);
    expect(updateDetails({ name: 'renamed', scopes: [...orphan.scopes] }, settings, orphan)).toEqual([]);
  });

  it('property: an edit of a restricted token is accepted exactly when its scopes and addresses are allowed, and the result never holds a scope outside the type nor an empty allowlist', () => {
    const restricted = { ...current, type: 'restricted', scopes: ['reports:read'] };
    const allowed = new Set(settings.tokenTypes.restricted?.allowedScopes ?? []);
    const scopeArb = fc.constantFrom(...scopeCatalogue(settings));
    const outcomes = { accepted: 0, refused: 0 };
    fc.assert(
      fc.property(
        fc.option(fc.array(scopeArb, { maxLength: 6 }), { nil: undefined }),
        fc.option(fc.array(fc.constantFrom('10.0.0.1', '192.0.2.0/24', 'bad'), { maxLength: 3 }), {
          nil: undefined,
        }),
        (scopes, allowedIps) => {
          // The oracle: what the type allows, written out independently of the implementation.
          const scopesOk =
            scopes === undefined ||
            (scopes.length > 0 &&
              new Set(scopes).size === scopes.length &&
              scopes.every((scope) => allowed.has(scope)));
          const ipsOk =
            allowedIps === undefined ||
            (allowedIps.length > 0 &&
              new Set(allowedIps).size === allowedIps.length &&
              !allowedIps.includes('bad'));
          let resolved: ReturnType<typeof resolveTokenUpdate> | undefined;
          let refusal: unknown;
          try {
            resolved = resolveTokenUpdate(settings, restricted, { scopes, allowedIps }, NOW);
          } catch (error) {
            refusal = error;
          }
          if (scopesOk && ipsOk) {
            outcomes.accepted += 1;
            expect(refusal).toBeUndefined();
            expect(resolved?.scopes).toEqual(scopes ?? restricted.scopes);
            expect(resolved?.allowedIps).toEqual(
              allowedIps === undefined
                ? restricted.allowedIps
                : allowedIps.map((entry) => (entry.includes('/') ? entry : `${entry}/32`)),
            );
            expect(resolved?.scopes.every((scope) => allowed.has(scope))).toBe(true);
            expect(resolved?.allowedIps.length).toBeGreaterThan(0);
          } else {
            outcomes.refused += 1;
            expect(resolved).toBeUndefined();
            expect(refusal).toBeInstanceOf(ValidationError);
            const paths = ((refusal as ValidationError).details ?? []).map((detail) => detail.path);
            if (!scopesOk) expect(paths.some((path) => path.startsWith('scopes'))).toBe(true);
            if (!ipsOk) expect(paths.some((path) => path.startsWith('allowedIps'))).toBe(true);
          }
        },
      ),
    );
    // Both outcomes were exercised: the property is not vacuous.
    expect(outcomes.accepted).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });
});
