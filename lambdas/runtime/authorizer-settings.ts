import type { TokenLimits } from '../core/rate-limits.js';
import {
  AUTHORIZER_INTEGER_SETTINGS,
  type AuthorizerIntegerSetting,
  integerSettingMessage,
  isIntegerSetting,
  isTokenPrefix,
  TOKEN_PREFIX_DEFAULT,
  TOKEN_PREFIX_MESSAGE,
  verificationCacheTtlSeconds,
} from '../core/settings.js';
import { parseTypeLimits } from './authorizer-type-limits.js';
import { ENV, requireJsonEnv } from './env.js';

// The token authorizer's view of POLICY_SETTINGS: only the fields it uses, checked by hand so that
// zod (about half of the authorizer's bundle and of its module init) stays out of this function.
// The stack writes POLICY_SETTINGS from settings already validated by policySettingsSchema at
// synth time (lib/config.ts), so this is a guard against a hand-edited or truncated variable, not
// the validation itself. Each field's type, bounds, default and message come from one definition
// in lambdas/core/settings.ts, which the contract's zod schema is built on too; a wrong field
// fails the cold start with a message naming it.

interface AuthorizerSettings {
  readonly tokenPrefix: string;
  readonly revocationWindowSeconds: number;
  readonly lastUsedIntervalSeconds: number;
  readonly verificationCacheSeconds: number;
  readonly verificationCacheNegativeSeconds: number;
  readonly verificationCacheMaxEntries: number;
}

const INTEGER_FIELDS = Object.keys(AUTHORIZER_INTEGER_SETTINGS) as AuthorizerIntegerSetting[];

export const AUTHORIZER_SETTINGS_DEFAULTS: AuthorizerSettings = {
  tokenPrefix: TOKEN_PREFIX_DEFAULT,
  revocationWindowSeconds: AUTHORIZER_INTEGER_SETTINGS.revocationWindowSeconds.fallback,
  lastUsedIntervalSeconds: AUTHORIZER_INTEGER_SETTINGS.lastUsedIntervalSeconds.fallback,
  verificationCacheSeconds: AUTHORIZER_INTEGER_SETTINGS.verificationCacheSeconds.fallback,
  verificationCacheNegativeSeconds: AUTHORIZER_INTEGER_SETTINGS.verificationCacheNegativeSeconds.fallback,
  verificationCacheMaxEntries: AUTHORIZER_INTEGER_SETTINGS.verificationCacheMaxEntries.fallback,
};

/** Checks the authorizer's fields of parsed POLICY_SETTINGS JSON; throws one message listing every problem. */
export function parseAuthorizerSettings(
  input: unknown,
  source: string = ENV.policySettings,
): AuthorizerSettings {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new Error(`Invalid ${source}:\n  - (root): expected an object`);
  }
  const raw = input as Record<string, unknown>;
  const problems: string[] = [];
  let tokenPrefix = AUTHORIZER_SETTINGS_DEFAULTS.tokenPrefix;
  if (raw.tokenPrefix !== undefined) {
    if (isTokenPrefix(raw.tokenPrefix)) tokenPrefix = raw.tokenPrefix;
    else problems.push(TOKEN_PREFIX_MESSAGE);
  }
  const integers: Record<AuthorizerIntegerSetting, number> = {
    revocationWindowSeconds: AUTHORIZER_SETTINGS_DEFAULTS.revocationWindowSeconds,
    lastUsedIntervalSeconds: AUTHORIZER_SETTINGS_DEFAULTS.lastUsedIntervalSeconds,
    verificationCacheSeconds: AUTHORIZER_SETTINGS_DEFAULTS.verificationCacheSeconds,
    verificationCacheNegativeSeconds: AUTHORIZER_SETTINGS_DEFAULTS.verificationCacheNegativeSeconds,
    verificationCacheMaxEntries: AUTHORIZER_SETTINGS_DEFAULTS.verificationCacheMaxEntries,
  };
  for (const field of INTEGER_FIELDS) {
    const value = raw[field];
    if (value === undefined) continue;
    const setting = AUTHORIZER_INTEGER_SETTINGS[field];
    if (isIntegerSetting(value, setting)) integers[field] = value;
    else problems.push(integerSettingMessage(field, setting));
  }
  if (problems.length > 0) {
    throw new Error(`Invalid ${source}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
  return { tokenPrefix, ...integers };
}

/**
 * POLICY_SETTINGS, parsed once at cold start: the authorizer's own fields (parseAuthorizerSettings)
 * and the token types' limits its strict mode needs (parseTypeLimits) are both read from it.
 */
export function authorizerPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): {
  readonly settings: AuthorizerSettings;
  readonly typeLimits: ReadonlyMap<string, TokenLimits>;
} {
  const policy = requireJsonEnv(ENV.policySettings, env);
  return { settings: parseAuthorizerSettings(policy), typeLimits: parseTypeLimits(policy) };
}

/** The in-process cache TTL: never longer than the revocation window (core/settings.ts). */
export function authorizerCacheTtlSeconds(settings: AuthorizerSettings): number {
  return verificationCacheTtlSeconds(settings);
}
