import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SETTINGS } from '../../../lambdas/contract/policy-settings.js';
import { verificationCacheTtlSeconds } from '../../../lambdas/core/settings.js';
import {
  AUTHORIZER_SETTINGS_DEFAULTS,
  authorizerCacheTtlSeconds,
  authorizerPolicyFromEnv,
  parseAuthorizerSettings,
} from '../../../lambdas/runtime/authorizer-settings.js';

// The authorizer reads its POLICY_SETTINGS fields without zod: same defaults and bounds as
// policySettingsSchema for the fields it uses, and a clear cold-start error on a wrong type.

const FIELDS = Object.keys(AUTHORIZER_SETTINGS_DEFAULTS) as (keyof typeof AUTHORIZER_SETTINGS_DEFAULTS)[];
const pick = (settings: typeof DEFAULT_POLICY_SETTINGS) =>
  Object.fromEntries(FIELDS.map((field) => [field, settings[field]]));

describe('authorizer settings', () => {
  it('has the defaults of policySettingsSchema', () => {
    expect(AUTHORIZER_SETTINGS_DEFAULTS).toEqual(pick(DEFAULT_POLICY_SETTINGS));
    expect(parseAuthorizerSettings({})).toEqual(pick(DEFAULT_POLICY_SETTINGS));
  });

  it('reads the fields the stack writes (the full, synth-validated settings)', () => {
    const policy = { ...DEFAULT_POLICY_SETTINGS, tokenPrefix: 'acme', revocationWindowSeconds: 0 };
    const { settings } = authorizerPolicyFromEnv({ POLICY_SETTINGS: JSON.stringify(policy) });
    expect(settings).toEqual(pick(policy));
    expect(authorizerCacheTtlSeconds(settings)).toBe(verificationCacheTtlSeconds(policy));
  });

  it.each([
    [{ tokenPrefix: 7 }, 'tokenPrefix'],
    [{ tokenPrefix: 'A' }, 'tokenPrefix'],
    [{ revocationWindowSeconds: '60' }, 'revocationWindowSeconds'],
    [{ revocationWindowSeconds: 3601 }, 'revocationWindowSeconds'],
    [{ lastUsedIntervalSeconds: 0 }, 'lastUsedIntervalSeconds'],
    [{ verificationCacheSeconds: 1.5 }, 'verificationCacheSeconds'],
    [{ verificationCacheNegativeSeconds: null }, 'verificationCacheNegativeSeconds'],
    [{ verificationCacheMaxEntries: -1 }, 'verificationCacheMaxEntries'],
  ])('fails the cold start on %o, naming the field', (patch, field) => {
    expect(() => parseAuthorizerSettings({ ...DEFAULT_POLICY_SETTINGS, ...patch })).toThrow(
      new RegExp(`Invalid POLICY_SETTINGS:[\\s\\S]*${field}`),
    );
  });

  it('fails on a value that is not an object, or not JSON, or missing', () => {
    expect(() => parseAuthorizerSettings([])).toThrow(/Invalid POLICY_SETTINGS/);
    expect(() => authorizerPolicyFromEnv({ POLICY_SETTINGS: '{' })).toThrow(
      /POLICY_SETTINGS is not valid JSON/,
    );
    expect(() => authorizerPolicyFromEnv({})).toThrow(/POLICY_SETTINGS/);
  });
});
