import { TOKEN_PREFIX_PATTERN } from '../core/token-format.js';
import { ENV, requireEnv } from './env.js';

// The token authorizer's view of POLICY_SETTINGS: only the fields it uses, checked by hand so that
// zod (about half of the authorizer's bundle and of its module init) stays out of this function.
// The stack writes POLICY_SETTINGS from settings already validated by policySettingsSchema at
// synth time (lib/config.ts), so this is a guard against a hand-edited or truncated variable, not
// the validation itself. Each field gets the schema's type, range and default, and a wrong one
// fails the cold start with a message naming the field. The defaults must equal
// policySettingsSchema's (a unit test compares them with DEFAULT_POLICY_SETTINGS).

export interface AuthorizerSettings {
  readonly tokenPrefix: string;
  readonly revocationWindowSeconds: number;
  readonly lastUsedIntervalSeconds: number;
  readonly verificationCacheSeconds: number;
  readonly verificationCacheNegativeSeconds: number;
  readonly verificationCacheMaxEntries: number;
}

type IntegerField = Exclude<keyof AuthorizerSettings, 'tokenPrefix'>;

/** Type, bounds and default of each integer field, as in policySettingsSchema. */
const INTEGER_FIELDS: Readonly<Record<IntegerField, readonly [min: number, max: number, fallback: number]>> =
  {
    revocationWindowSeconds: [0, 3600, 60],
    lastUsedIntervalSeconds: [1, 86_400, 900],
    verificationCacheSeconds: [0, 3600, 10],
    verificationCacheNegativeSeconds: [0, 300, 5],
    verificationCacheMaxEntries: [0, 1_000_000, 10_000],
  };

export const AUTHORIZER_SETTINGS_DEFAULTS: AuthorizerSettings = {
  tokenPrefix: 'atk',
  revocationWindowSeconds: INTEGER_FIELDS.revocationWindowSeconds[2],
  lastUsedIntervalSeconds: INTEGER_FIELDS.lastUsedIntervalSeconds[2],
  verificationCacheSeconds: INTEGER_FIELDS.verificationCacheSeconds[2],
  verificationCacheNegativeSeconds: INTEGER_FIELDS.verificationCacheNegativeSeconds[2],
  verificationCacheMaxEntries: INTEGER_FIELDS.verificationCacheMaxEntries[2],
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
    if (typeof raw.tokenPrefix === 'string' && TOKEN_PREFIX_PATTERN.test(raw.tokenPrefix)) {
      tokenPrefix = raw.tokenPrefix;
    } else {
      problems.push('tokenPrefix must be 2-16 lowercase letters or digits, starting with a letter');
    }
  }
  const integers: Record<IntegerField, number> = {
    revocationWindowSeconds: AUTHORIZER_SETTINGS_DEFAULTS.revocationWindowSeconds,
    lastUsedIntervalSeconds: AUTHORIZER_SETTINGS_DEFAULTS.lastUsedIntervalSeconds,
    verificationCacheSeconds: AUTHORIZER_SETTINGS_DEFAULTS.verificationCacheSeconds,
    verificationCacheNegativeSeconds: AUTHORIZER_SETTINGS_DEFAULTS.verificationCacheNegativeSeconds,
    verificationCacheMaxEntries: AUTHORIZER_SETTINGS_DEFAULTS.verificationCacheMaxEntries,
  };
  for (const field of Object.keys(INTEGER_FIELDS) as IntegerField[]) {
    const value = raw[field];
    if (value === undefined) continue;
    const [min, max] = INTEGER_FIELDS[field];
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max) {
      integers[field] = value;
    } else {
      problems.push(`${field} must be an integer from ${min} to ${max}`);
    }
  }
  if (problems.length > 0) {
    throw new Error(`Invalid ${source}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
  return { tokenPrefix, ...integers };
}

export function authorizerSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): AuthorizerSettings {
  let raw: unknown;
  try {
    raw = JSON.parse(requireEnv(ENV.policySettings, env));
  } catch (error) {
    throw new Error(`${ENV.policySettings} is not valid JSON: ${(error as Error).message}`);
  }
  return parseAuthorizerSettings(raw);
}

/** The in-process cache TTL: never longer than the revocation window (as settings.ts's verificationCacheTtlSeconds). */
export function authorizerCacheTtlSeconds(settings: AuthorizerSettings): number {
  return Math.min(settings.verificationCacheSeconds, settings.revocationWindowSeconds);
}
