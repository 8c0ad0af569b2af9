import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SETTINGS, parsePolicySettings } from '../../../lambdas/contract/policy-settings.js';
import { typeLimitsOf } from '../../../lambdas/core/settings.js';
import { parseTypeLimits } from '../../../lambdas/runtime/authorizer-type-limits.js';

// The authorizer reads the types' limits from POLICY_SETTINGS by hand (no zod in its bundle): for
// settings the contract's schema accepted, exactly typeLimitsOf of each type.

describe('parseTypeLimits', () => {
  it('reads every type as typeLimitsOf does, for the defaults and a configured deployment', () => {
    const configured = parsePolicySettings({
      defaultTokenType: 'a',
      tokenTypes: {
        a: { description: 'A', rateLimit: { requestsPerSecond: 5, burst: 5 } },
        b: { description: 'B', quota: { limit: 20, period: 'WEEK' } },
      },
    });
    for (const settings of [DEFAULT_POLICY_SETTINGS, configured]) {
      const parsed = parseTypeLimits(JSON.parse(JSON.stringify(settings)));
      expect(Object.fromEntries(parsed)).toEqual(
        Object.fromEntries(
          Object.entries(settings.tokenTypes).map(([name, type]) => [name, typeLimitsOf(type)]),
        ),
      );
    }
  });

  it('fails the cold start naming each broken entry', () => {
    expect(() =>
      parseTypeLimits({
        tokenTypes: {
          a: { rateLimit: { requestsPerSecond: 0, burst: 5 } },
          b: { quota: { limit: 20, period: 'YEAR' } },
          c: 'nope',
        },
      }),
    ).toThrow(/tokenTypes\.a\.rateLimit[\s\S]*tokenTypes\.b\.quota[\s\S]*tokenTypes\.c must be an object/);
    expect(() => parseTypeLimits({ tokenTypes: [] })).toThrow('tokenTypes must be an object');
  });
});
