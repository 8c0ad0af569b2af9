import { z } from 'zod';
import { AREA_PATTERN, SCOPE_PATTERN } from './scope-patterns.js';
import { TOKEN_PREFIX_PATTERN } from './token-format.js';

// The token policy: what users may create and how the gateway treats tokens. The same schema
// validates `cdk.json` context at synth time (lib/config.ts), the local stack's settings, and the
// JSON the stack hands to every function in the POLICY_SETTINGS env var.

// The patterns live in a zod-free module (the token authorizer imports them without zod).
export { AREA_PATTERN, SCOPE_PATTERN, type ScopeAction } from './scope-patterns.js';

const areaSchema = z
  .string()
  .regex(AREA_PATTERN, 'an area is lowercase letters, digits and dashes, starting with a letter (max 40)');
const scopeSchema = z.string().regex(SCOPE_PATTERN, 'a scope is `<area>:read` or `<area>:write`');

/** A token type's name, in the configuration and in a create request alike. */
export const TOKEN_TYPE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
const typeNameSchema = z
  .string()
  .regex(TOKEN_TYPE_NAME_PATTERN, 'a token type name is lowercase letters, digits and dashes (max 32)');

/**
 * How wide one allowlist entry of a type that requires an allowlist may be, as the shortest prefix
 * length accepted per family. Without a bound, `0.0.0.0/1` + `128.0.0.0/1` (or `::/1` + `8000::/1`)
 * "limit" a token to the whole Internet. The default refuses IPv4 ranges wider than a /8 and IPv6
 * ranges wider than a /32 (an ISP's allocation).
 */
export const DEFAULT_MIN_ALLOWLIST_PREFIX = { ipv4: 8, ipv6: 32 } as const;

const minAllowlistPrefixSchema = z
  .object({
    ipv4: z.number().int().min(1).max(32).default(DEFAULT_MIN_ALLOWLIST_PREFIX.ipv4),
    ipv6: z.number().int().min(1).max(128).default(DEFAULT_MIN_ALLOWLIST_PREFIX.ipv6),
  })
  .strict();
export type AllowlistBound = z.infer<typeof minAllowlistPrefixSchema>;

export const tokenTypeSchema = z
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
  })
  .strict()
  .refine((type) => type.minAllowlistPrefix === undefined || type.requireIpAllowlist, {
    path: ['minAllowlistPrefix'],
    message: 'minAllowlistPrefix applies only to a type with requireIpAllowlist: true',
  });

export const policySettingsSchema = z
  .object({
    tokenPrefix: z
      .string()
      .regex(
        TOKEN_PREFIX_PATTERN,
        'tokenPrefix must be 2-16 lowercase letters or digits, starting with a letter',
      )
      .default('atk'),
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
      standard: { description: 'Any scopes from the catalogue.', requireIpAllowlist: false },
      restricted: {
        description: 'Read-only reporting access; must be limited to an IP allowlist.',
        allowedScopes: ['reports:read', 'content:read', 'products:read'],
        requireIpAllowlist: true,
      },
    }),
    defaultTokenType: typeNameSchema.default('standard'),
    /** Upper bound on how long a revoked token may still pass: gateway cache TTL + in-process cache. */
    revocationWindowSeconds: z.number().int().min(0).max(3600).default(60),
    /** The authorizer records a token's lastUsedAt at most once per this many seconds. */
    lastUsedIntervalSeconds: z.number().int().min(1).max(86_400).default(900),
    /** Audit events are kept this long (DynamoDB TTL), in days. */
    auditRetentionDays: z.number().int().min(1).max(3650).default(365),
    /**
     * How long the authorizer reuses a credential it read, in seconds. Counted inside the revocation
     * window: the effective value is min(this, revocationWindowSeconds), and API Gateway's result
     * cache gets the rest of the window (gatewayCacheTtlSeconds).
     */
    verificationCacheSeconds: z.number().int().min(0).max(3600).default(10),
    /** How long the authorizer remembers that a well-formed token does not exist, in seconds. */
    verificationCacheNegativeSeconds: z.number().int().min(0).max(300).default(5),
    /** Credentials one authorizer container keeps (least recently used go first). */
    verificationCacheMaxEntries: z.number().int().min(0).max(1_000_000).default(10_000),
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

export type PolicySettings = z.infer<typeof policySettingsSchema>;
export type PolicySettingsInput = z.input<typeof policySettingsSchema>;
export type TokenTypeSettings = z.infer<typeof tokenTypeSchema>;

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

/** The authorizer's in-process cache TTL: never longer than the revocation window. */
export function verificationCacheTtlSeconds(settings: PolicySettings): number {
  return Math.min(settings.verificationCacheSeconds, settings.revocationWindowSeconds);
}

/**
 * API Gateway's authorizer result cache TTL: what the in-process cache leaves of the revocation
 * window, so that a revoked token passes for at most revocationWindowSeconds in total.
 */
export function gatewayCacheTtlSeconds(settings: PolicySettings): number {
  return settings.revocationWindowSeconds - verificationCacheTtlSeconds(settings);
}

/**
 * The configured token type of that name, or undefined. Own properties only: the types are a plain
 * object, and `constructor`, `__proto__`, `toString` or `hasOwnProperty` must find nothing unless
 * the configuration names such a type (a prototype member has no allowedScopes and no
 * requireIpAllowlist, so finding one would lift every restriction).
 */
export function tokenTypeNamed(
  settings: Pick<PolicySettings, 'tokenTypes'>,
  name: string,
): TokenTypeSettings | undefined {
  return Object.hasOwn(settings.tokenTypes, name) ? settings.tokenTypes[name] : undefined;
}

/** The allowlist bound of a type that requires an allowlist; undefined for any other type. */
export function allowlistBoundOf(type: TokenTypeSettings): AllowlistBound | undefined {
  if (!type.requireIpAllowlist) return undefined;
  return { ...DEFAULT_MIN_ALLOWLIST_PREFIX, ...type.minAllowlistPrefix };
}

export function scopeCatalogue(settings: PolicySettings): string[] {
  return settings.scopeAreas.flatMap((area) => [`${area}:read`, `${area}:write`]);
}
