import { z } from 'zod';
import { DEFAULT_RATE_LIMIT, QUOTA_PERIODS, RATE_LIMIT_BOUNDS } from '../core/rate-limits.js';
import { AREA_PATTERN, SCOPE_PATTERN } from '../core/scope-patterns.js';
import {
  AUTHORIZER_INTEGER_SETTINGS,
  type AuthorizerIntegerSetting,
  DEFAULT_MIN_ALLOWLIST_PREFIX,
  type IntegerSetting,
  integerSettingMessage,
  isTokenPrefix,
  type PolicySettings,
  TOKEN_PREFIX_DEFAULT,
  TOKEN_PREFIX_MESSAGE,
  TOKEN_TYPE_NAME_PATTERN,
  tokenTypeNamed,
} from '../core/settings.js';

// The token policy's schema: it validates `cdk.json` context at synth time (lib/config.ts), the
// local stack's settings, and the JSON the stack hands to every function in the POLICY_SETTINGS
// env var. The types and rules are the domain's (lambdas/core/settings.ts); the fields the token
// authorizer reads are built from the same definitions its zod-free check uses, so the two cannot
// disagree on a type, a bound or a default.

const DEFAULT_LEAKS_PUBLIC_KEYS_URL = 'https://api.github.com/meta/public_keys/secret_scanning';

/** https anywhere; plain http only to this machine (the tests' local key endpoint). */
function isKeysUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  if (url.username !== '' || url.password !== '') return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
}

const areaSchema = z
  .string()
  .regex(AREA_PATTERN, 'an area is lowercase letters, digits and dashes, starting with a letter (max 40)');
const scopeSchema = z.string().regex(SCOPE_PATTERN, 'a scope is `<area>:read` or `<area>:write`');

const typeNameSchema = z
  .string()
  .regex(TOKEN_TYPE_NAME_PATTERN, 'a token type name is lowercase letters, digits and dashes (max 32)');

/** An integer setting the authorizer reads, from its one definition (core/settings.ts). */
const authorizerInteger = (field: AuthorizerIntegerSetting) => {
  const setting: IntegerSetting = AUTHORIZER_INTEGER_SETTINGS[field];
  return z
    .number()
    .int()
    .min(setting.min, integerSettingMessage(field, setting))
    .max(setting.max, integerSettingMessage(field, setting))
    .default(setting.fallback);
};

const minAllowlistPrefixSchema = z
  .object({
    ipv4: z.number().int().min(1).max(32).default(DEFAULT_MIN_ALLOWLIST_PREFIX.ipv4),
    ipv6: z.number().int().min(1).max(128).default(DEFAULT_MIN_ALLOWLIST_PREFIX.ipv6),
  })
  .strict();

const { requestsPerSecond: rpsBounds, burst: burstBounds, quotaLimit: quotaBounds } = RATE_LIMIT_BOUNDS;

/** A throttle: requests per second (steady) and burst (bucket size), as API Gateway's usage plans. */
export const rateLimitSchema = z
  .object({
    requestsPerSecond: z.number().int().min(rpsBounds.min).max(rpsBounds.max),
    burst: z.number().int().min(burstBounds.min).max(burstBounds.max),
  })
  .strict();

/** A quota: at most `limit` requests per calendar DAY, WEEK or MONTH (UTC). */
export const quotaSchema = z
  .object({
    limit: z.number().int().min(quotaBounds.min).max(quotaBounds.max),
    period: z.enum(QUOTA_PERIODS),
  })
  .strict();

const tokenTypeSchema = z
  .object({
    description: z.string().min(1).max(200),
    /** Scopes this type may carry; omitted = any scope in the catalogue. */
    allowedScopes: z.array(scopeSchema).min(1).optional(),
    /** Vendors' "profile read" style tokens must be limited to known addresses. */
    requireIpAllowlist: z.boolean().default(false),
    /**
     * With requireIpAllowlist: the shortest prefix an entry may have, per family; omitted (or a
     * family left out) = DEFAULT_MIN_ALLOWLIST_PREFIX. Part of the type so that it travels with
     * `tokenTypes` in cdk.json and the local settings like the rest of the type.
     */
    minAllowlistPrefix: minAllowlistPrefixSchema.optional(),
    /** The most any token of the type gets; a token may be given less (docs/rate-limits.md). */
    rateLimit: rateLimitSchema.default(DEFAULT_RATE_LIMIT),
    /** The type's quota; omitted = none. */
    quota: quotaSchema.optional(),
  })
  .strict()
  .refine((type) => type.minAllowlistPrefix === undefined || type.requireIpAllowlist, {
    path: ['minAllowlistPrefix'],
    message: 'minAllowlistPrefix applies only to a type with requireIpAllowlist: true',
  });

export const policySettingsSchema = z
  .object({
    tokenPrefix: z.string().refine(isTokenPrefix, TOKEN_PREFIX_MESSAGE).default(TOKEN_PREFIX_DEFAULT),
    expiryPresetsDays: z
      .array(z.number().int().min(1).max(3650))
      .min(1, 'expiryPresetsDays needs at least one preset')
      .default([7, 30, 90, 180]),
    maxLifetimeDays: z.number().int().min(1).max(3650).default(180),
    allowNoExpiry: z.boolean().default(false),
    maxActiveTokensPerUser: z.number().int().min(1).max(10_000).default(10),
    maxActiveTokensPerAccount: z.number().int().min(1).max(1_000_000).default(100),
    scopeAreas: z
      .array(areaSchema)
      .min(1)
      .default(['content', 'products', 'triggers', 'reports', 'bulk-data', 'system']),
    tokenTypes: z.record(typeNameSchema, tokenTypeSchema).default({
      standard: {
        description: 'Any scopes from the catalogue.',
        requireIpAllowlist: false,
        rateLimit: { requestsPerSecond: 50, burst: 100 },
      },
      restricted: {
        description: 'Read-only reporting access; must be limited to an IP allowlist.',
        allowedScopes: ['reports:read', 'content:read', 'products:read'],
        requireIpAllowlist: true,
        rateLimit: { requestsPerSecond: 10, burst: 20 },
        quota: { limit: 10_000, period: 'DAY' },
      },
    }),
    defaultTokenType: typeNameSchema.default('standard'),
    /** Upper bound on how long a revoked token may still pass: gateway cache TTL + in-process cache. */
    revocationWindowSeconds: authorizerInteger('revocationWindowSeconds'),
    /** The authorizer records a token's lastUsedAt at most once per this many seconds. */
    lastUsedIntervalSeconds: authorizerInteger('lastUsedIntervalSeconds'),
    /** Audit events are kept this long (DynamoDB TTL), in days. */
    auditRetentionDays: z.number().int().min(1).max(3650).default(365),
    /**
     * How long the authorizer reuses a credential it read, in seconds. Counted inside the revocation
     * window: the effective value is min(this, revocationWindowSeconds), and API Gateway's result
     * cache gets the rest of the window (gatewayCacheTtlSeconds).
     */
    verificationCacheSeconds: authorizerInteger('verificationCacheSeconds'),
    /** How long the authorizer remembers that a well-formed token does not exist, in seconds. */
    verificationCacheNegativeSeconds: authorizerInteger('verificationCacheNegativeSeconds'),
    /** Credentials one authorizer container keeps (least recently used go first). */
    verificationCacheMaxEntries: authorizerInteger('verificationCacheMaxEntries'),
    /** Tokens holding a gateway usage key at once (API Gateway: 10,000 API keys per account and Region). */
    usageKeyBudget: z.number().int().min(1).max(10_000).default(9_000),
    /** Override limit classes (usage plans beyond the types') at once (API Gateway: 300 plans per Region). */
    limitClassBudget: z.number().int().min(0).max(290).default(200),
    /** GitHub's secret scanning public keys (POST /leaks/github, docs/leaks.md). */
    leaksPublicKeysUrl: z
      .string()
      .refine(isKeysUrl, 'leaksPublicKeysUrl must be an https URL (or http to 127.0.0.1, ::1 or localhost)')
      .default(DEFAULT_LEAKS_PUBLIC_KEYS_URL),
  })
  .strict()
  .superRefine((settings, ctx) => {
    for (const preset of settings.expiryPresetsDays) {
      if (preset > settings.maxLifetimeDays) {
        ctx.addIssue({
          code: 'custom',
          path: ['expiryPresetsDays'],
          message: `preset ${preset} days exceeds maxLifetimeDays (${settings.maxLifetimeDays})`,
        });
      }
    }
    if (settings.maxActiveTokensPerUser > settings.maxActiveTokensPerAccount) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxActiveTokensPerUser'],
        message: 'maxActiveTokensPerUser cannot exceed maxActiveTokensPerAccount',
      });
    }
    if (tokenTypeNamed(settings, settings.defaultTokenType) === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['defaultTokenType'],
        message: `defaultTokenType "${settings.defaultTokenType}" is not one of tokenTypes`,
      });
    }
    const typeCount = Object.keys(settings.tokenTypes).length;
    if (typeCount + settings.limitClassBudget > 300) {
      ctx.addIssue({
        code: 'custom',
        path: ['limitClassBudget'],
        message: `${typeCount} type plans + limitClassBudget ${settings.limitClassBudget} exceed API Gateway's 300 usage plans per Region`,
      });
    }
    const catalogue = new Set(settings.scopeAreas);
    for (const [name, type] of Object.entries(settings.tokenTypes)) {
      for (const scope of type.allowedScopes ?? []) {
        const area = scope.split(':')[0] ?? '';
        if (!catalogue.has(area)) {
          ctx.addIssue({
            code: 'custom',
            path: ['tokenTypes', name, 'allowedScopes'],
            message: `scope "${scope}" names area "${area}", which is not in scopeAreas`,
          });
        }
      }
    }
  });

export type PolicySettingsInput = z.input<typeof policySettingsSchema>;

// One shape: what the schema parses into is the domain's PolicySettings (core/settings.ts), and
// back; this fails to compile if the two drift apart.
type Assignable<From, To> = [From] extends [To] ? true : false;
const oneShape: {
  parsed: Assignable<z.output<typeof policySettingsSchema>, PolicySettings>;
  domain: Assignable<PolicySettings, z.output<typeof policySettingsSchema>>;
} = { parsed: true, domain: true };
void oneShape;

export const DEFAULT_POLICY_SETTINGS: PolicySettings = policySettingsSchema.parse({});

/** Parses settings, throwing one readable message that lists every problem. */
export function parsePolicySettings(input: unknown, source = 'policy settings'): PolicySettings {
  const result = policySettingsSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map(
      (issue) => `  - ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new Error(`Invalid ${source}:\n${lines.join('\n')}`);
  }
  return result.data;
}
