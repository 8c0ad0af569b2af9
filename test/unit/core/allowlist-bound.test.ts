import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SETTINGS, parsePolicySettings } from '../../../lambdas/contract/policy-settings.js';
import { ValidationError } from '../../../lambdas/core/errors.js';
import { ipAllowlistFor } from '../../../lambdas/core/ip-allowlist.js';
import { policyView, resolveTokenPolicy, resolveTokenUpdate } from '../../../lambdas/core/token-policy.js';
import { FUZZ_RUNS } from '../../support/fuzz-arbitraries.js';

// Issue #11, item 4: a type that requires an IP allowlist accepted any range, so `0.0.0.0/1` +
// `128.0.0.0/1` (or `::/1` + `8000::/1`) met the requirement while allowing the whole Internet.
// Entries are now bounded per family (default: IPv4 /8, IPv6 /32), and an IPv6 range that
// contains the IPv4-mapped block `::ffff:0:0/96` counts as every IPv4 address, because the
// gateway's matcher (node:net BlockList) matches IPv4 sources against it.

const NOW = new Date('2025-03-01T12:00:00.000Z');
const settings = DEFAULT_POLICY_SETTINGS;
const restricted = (allowedIps: string[]) => ({ scopes: ['reports:read'], type: 'restricted', allowedIps });

function problems(request: ReturnType<typeof restricted>, policy = settings) {
  try {
    resolveTokenPolicy(policy, request, NOW);
    return [];
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return [...(error.details ?? [])];
  }
}

describe('an allowlist the type requires cannot cover the Internet (regression)', () => {
  it.each([
    [['0.0.0.0/1', '128.0.0.0/1']],
    [['::/1', '8000::/1']],
    [['::/32']], // a /32, but it contains ::ffff:0:0/96: every IPv4 address
    [['::ffff:0:0/97', '::ffff:128.0.0.0/97']], // IPv4-mapped halves: IPv4 /1s
    [['10.0.0.0/7']],
    [['2000::/3']],
  ])('%j is a 400 naming allowedIps.N', (allowedIps) => {
    const details = problems(restricted(allowedIps));
    expect(details.map((detail) => detail.path)).toEqual(allowedIps.map((_, index) => `allowedIps.${index}`));
    for (const detail of details) expect(detail.message).toMatch(/too wide/);
  });

  it('the message says what is allowed', () => {
    expect(problems(restricted(['0.0.0.0/1']))[0]?.message).toBe(
      '0.0.0.0/1 is too wide: token type "restricted" allows IPv4 ranges of /8 or narrower and IPv6 ranges of /32 or narrower',
    );
    expect(problems(restricted(['::/32']))[0]?.message).toMatch(
      /contains ::ffff:0:0\/96 and so every IPv4 address/,
    );
  });

  it('ranges within the bound are accepted: a /8, an ISP /32, single addresses', () => {
    const accepted = resolveTokenPolicy(
      settings,
      restricted(['10.0.0.0/8', '2001:db8::/32', '203.0.113.7', '2001:db8::1', '::ffff:192.0.2.0/120']),
      NOW,
    );
    expect(accepted.allowedIps).toEqual([
      '10.0.0.0/8',
      '2001:db8::/32',
      '203.0.113.7/32',
      '2001:db8::1/128',
      '192.0.2.0/24',
    ]);
  });

  it('a type that does not require an allowlist is not bounded (an empty list allows any address anyway)', () => {
    expect(
      resolveTokenPolicy(settings, { scopes: ['content:read'], allowedIps: ['0.0.0.0/1'] }, NOW).allowedIps,
    ).toEqual(['0.0.0.0/1']);
  });

  it('PATCH is held to the same bound', () => {
    const current = {
      type: 'restricted',
      createdAt: NOW.toISOString(),
      name: 'reports',
      description: '',
      scopes: ['reports:read'],
      allowedIps: ['203.0.113.0/24'],
      expiresAt: null,
    };
    expect(() =>
      resolveTokenUpdate(settings, current, { allowedIps: ['0.0.0.0/1', '128.0.0.0/1'] }, NOW),
    ).toThrow(ValidationError);
    expect(() => resolveTokenUpdate(settings, current, { allowedIps: ['::/16'] }, NOW)).toThrow(
      ValidationError,
    );
    expect(
      resolveTokenUpdate(settings, current, { allowedIps: ['198.51.100.0/24'] }, NOW).allowedIps,
    ).toEqual(['198.51.100.0/24']);
  });
});

describe('the bound is configurable per type', () => {
  // Parsed per test, so that the rest of the file runs even where the setting does not exist.
  const tight = () =>
    parsePolicySettings({
      tokenTypes: {
        standard: { description: 'Anything.' },
        partner: {
          description: 'From the partner office only.',
          requireIpAllowlist: true,
          minAllowlistPrefix: { ipv4: 24 },
        },
      },
    });

  it('a tighter IPv4 bound; the IPv6 bound keeps its default', () => {
    const partner = (allowedIps: string[]) => ({ scopes: ['content:read'], type: 'partner', allowedIps });
    expect(problems(partner(['198.51.100.0/23']), tight())).toHaveLength(1);
    expect(problems(partner(['198.51.100.0/24', '2001:db8::/32']), tight())).toEqual([]);
    expect(problems(partner(['2001:db8::/31']), tight())).toHaveLength(1);
  });

  it('GET /policy shows it for types that require an allowlist', () => {
    const view = policyView(tight()).tokenTypes;
    expect(view.find((type) => type.name === 'partner')?.minAllowlistPrefix).toEqual({ ipv4: 24, ipv6: 32 });
    expect(view.find((type) => type.name === 'standard')?.minAllowlistPrefix).toBeNull();
    expect(
      policyView(settings).tokenTypes.find((type) => type.name === 'restricted')?.minAllowlistPrefix,
    ).toEqual({
      ipv4: 8,
      ipv6: 32,
    });
  });

  it('a bound on a type that requires no allowlist, or out of range, is a configuration error', () => {
    const type = (extra: Record<string, unknown>) => ({
      tokenTypes: { standard: { description: 'x', ...extra } },
    });
    expect(() => parsePolicySettings(type({ minAllowlistPrefix: { ipv4: 16 } }))).toThrow(
      /requireIpAllowlist/,
    );
    expect(() =>
      parsePolicySettings(type({ requireIpAllowlist: true, minAllowlistPrefix: { ipv4: 0 } })),
    ).toThrow();
    expect(() =>
      parsePolicySettings(type({ requireIpAllowlist: true, minAllowlistPrefix: { ipv6: 129 } })),
    ).toThrow();
    expect(() =>
      parsePolicySettings(type({ requireIpAllowlist: true, minAllowlistPrefix: { ipv5: 8 } })),
    ).toThrow();
  });
});

describe('property: an accepted allowlist lets the gateway admit at most one /8 (and one IPv6 /8) per entry', () => {
  const ipv4 = fc
    .tuple(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 1, max: 32 }))
    .map(
      ([value, prefix]) => `${[24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.')}/${prefix}`,
    );
  const ipv6 = fc
    .tuple(
      fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }),
      fc.integer({ min: 1, max: 128 }),
    )
    .map(([groups, prefix]) => `${groups.map((group) => group.toString(16)).join(':')}/${prefix}`);
  const mapped = fc
    .tuple(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 1, max: 128 }))
    .map(
      ([value, prefix]) => `::ffff:${(value >>> 16).toString(16)}:${(value & 0xffff).toString(16)}/${prefix}`,
    );
  const zeroes = fc.integer({ min: 1, max: 96 }).map((prefix) => `::/${prefix}`);
  const entry = fc.oneof(ipv4, ipv6, mapped, zeroes);

  /** One probe in every IPv4 /8 and in every top-8-bit block of IPv6. */
  const PROBES_V4 = Array.from({ length: 256 }, (_, index) => `${index}.77.77.77`);
  const PROBES_V6 = Array.from({ length: 256 }, (_, index) => `${(index << 8).toString(16)}:77::77`);

  it('whatever the entries', () => {
    fc.assert(
      fc.property(fc.uniqueArray(entry, { minLength: 1, maxLength: 20 }), (entries) => {
        let allowedIps: string[];
        try {
          allowedIps = resolveTokenPolicy(settings, restricted(entries), NOW).allowedIps;
        } catch (error) {
          expect(error).toBeInstanceOf(ValidationError);
          return;
        }
        const allowlist = ipAllowlistFor(allowedIps);
        const admitted = (probes: string[]) => probes.filter((probe) => allowlist.allows(probe)).length;
        expect(admitted(PROBES_V4)).toBeLessThanOrEqual(allowedIps.length);
        expect(admitted(PROBES_V6)).toBeLessThanOrEqual(allowedIps.length);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
