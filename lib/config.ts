import { z } from 'zod';
import { INDEX_UPGRADE_STEPS } from '../lambdas/adapters/table-definition.js';
import {
  DEFAULT_POLICY_SETTINGS,
  type PolicySettingsInput,
  policySettingsSchema,
} from '../lambdas/contract/policy-settings.js';
import {
  DEFAULT_REMINDER_WINDOW_DAYS,
  MAX_REMINDER_WINDOW_DAYS,
} from '../lambdas/core/notifications/reminders.js';
import type { PolicySettings } from '../lambdas/core/settings.js';
import { defaultJwksUrlOf } from './gateway-settings.js';

// The deployment's settings, read from the flat `cdk.json` context (and `-c key=value` overrides)
// and validated once at synth time. This module must not import aws-cdk-lib: the local stack reads
// the same context through it.

export type IdentityConfig =
  | { readonly kind: 'cognito' }
  | {
      readonly kind: 'oidc';
      /** The issuer (`iss` claim), an https URL. */
      readonly issuer: string;
      /** The expected `aud` (or Cognito-style `client_id`) of the JWTs. */
      readonly audience: string;
      /** @default `<issuer>/.well-known/jwks.json` (see {@link jwksUriOf}) */
      readonly jwksUri?: string;
    };

export interface ThrottleConfig {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Burst capacity (token-bucket size). */
  readonly burstLimit: number;
}

/** Retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;
export type LogRetentionDays = (typeof LOG_RETENTION_DAYS)[number];

/**
 * Who sets the Region's API Gateway CloudWatch Logs role (an account-wide setting that every REST
 * API stage with logging needs): `managed`, this stack (its own role, retained); `existing`, someone
 * else already did, and the stack leaves the setting alone.
 */
export type ApiGatewayCloudWatchRoleMode = 'managed' | 'existing';

export interface DeploymentConfig {
  readonly policy: PolicySettings;
  /**
   * The From address of notification emails. Undefined: no sender is configured, and the stack
   * deploys without emails (no notifier, no reminder job, no SES identity).
   */
  readonly senderAddress: string | undefined;
  /** The SES identity (email address or domain) the sender address belongs to; undefined without a sender. */
  readonly sesIdentity: string | undefined;
  /** Whether the SES identity already exists (the stack then references it instead of creating it). */
  readonly sesIdentityExists: boolean;
  /** Days before expiry when a token owner gets one reminder email. */
  readonly reminderWindowDays: number;
  readonly identity: IdentityConfig;
  /** JWT claim holding the caller's account id. */
  readonly accountIdClaim: string;
  /** JWT claim holding the caller's role (`admin`, `member`, `viewer`). */
  readonly roleClaim: string;
  /** JWT claim holding the caller's email address. */
  readonly emailClaim: string;
  /** Whether to deploy the demo API behind the token authorizer. */
  readonly demoApi: boolean;
  /** Whether to deploy the web console (S3 + CloudFront, sign-in through the identity provider). */
  readonly consoleEnabled: boolean;
  /** A custom domain in front of the console, with its ACM certificate (us-east-1); undefined: none. */
  readonly consoleDomain: { readonly domainName: string; readonly certificateArn: string } | undefined;
  /** Default method throttling of the management API. */
  readonly managementThrottle: ThrottleConfig;
  /** Retention of every log group the stack creates. */
  readonly logRetentionDays: LogRetentionDays;
  /**
   * AWS accounts whose API Gateway APIs may invoke the token authorizer (besides this account's):
   * a function in another account can only be invoked with its owner's resource-based permission.
   */
  readonly authorizerInvokerAccounts: readonly string[];
  /** Who sets the Region's API Gateway CloudWatch Logs role. */
  readonly apiGatewayCloudWatchRole: ApiGatewayCloudWatchRoleMode;
  /**
   * A step of the index upgrade of a table deployed with the legacy indexes (1 to 6, one deploy
   * each); undefined: the current indexes only.
   */
  readonly indexUpgradeStep: number | undefined;
  /**
   * The Regions the deployment spans, the home Region first (README "Several Regions"); undefined:
   * the deploy Region alone, one environment-agnostic stack (a single-Region deploy is unchanged).
   */
  readonly regions: readonly string[] | undefined;
}

type ValueKind = 'string' | 'number' | 'boolean' | 'json';

interface ContextKeyDescription {
  /** How a `-c key=value` string is coerced. */
  readonly kind: ValueKind;
  /** The default, as it would be written in cdk.json; undefined = unset. */
  readonly default: unknown;
  readonly description: string;
}

const POLICY_CONTEXT_KEYS = {
  tokenPrefix: {
    kind: 'string',
    default: DEFAULT_POLICY_SETTINGS.tokenPrefix,
    description:
      'Prefix of every token (`<prefix>_...`): 2-16 lowercase letters or digits, starting with a letter.',
  },
  expiryPresetsDays: {
    kind: 'json',
    default: DEFAULT_POLICY_SETTINGS.expiryPresetsDays,
    description: 'Expiry choices offered when creating a token, in days; none may exceed `maxLifetimeDays`.',
  },
  maxLifetimeDays: {
    kind: 'number',
    default: DEFAULT_POLICY_SETTINGS.maxLifetimeDays,
    description: 'Longest lifetime a token may have, in days.',
  },
  allowNoExpiry: {
    kind: 'boolean',
    default: DEFAULT_POLICY_SETTINGS.allowNoExpiry,
    description: 'Whether tokens without an expiry may be created.',
  },
  maxActiveTokensPerUser: {
    kind: 'number',
    default: DEFAULT_POLICY_SETTINGS.maxActiveTokensPerUser,
    description: 'Active tokens one user may hold.',
  },
  maxActiveTokensPerAccount: {
    kind: 'number',
    default: DEFAULT_POLICY_SETTINGS.maxActiveTokensPerAccount,
    description: 'Active tokens one account may hold.',
  },
  scopeAreas: {
    kind: 'json',
    default: DEFAULT_POLICY_SETTINGS.scopeAreas,
    description: 'The scope catalogue: each area gives `<area>:read` and `<area>:write`.',
  },
  tokenTypes: {
    kind: 'json',
    default: DEFAULT_POLICY_SETTINGS.tokenTypes,
    description:
      'Token types: `{name: {description, allowedScopes?, requireIpAllowlist?, rateLimit?: {requestsPerSecond, burst}, quota?: {limit, period}}}`; a type may restrict scopes, require an IP allowlist, and sets the most requests its tokens may make (docs/rate-limits.md).',
  },
  defaultTokenType: {
    kind: 'string',
    default: DEFAULT_POLICY_SETTINGS.defaultTokenType,
    description: 'Type of a token created without `type`; must be one of `tokenTypes`.',
  },
  revocationWindowSeconds: {
    kind: 'number',
    default: DEFAULT_POLICY_SETTINGS.revocationWindowSeconds,
    description:
      "How long a revoked or changed token may still pass: API Gateway's result cache plus the authorizer's in-process cache together; 0 = immediately.",
  },
  lastUsedIntervalSeconds: {
    kind: 'number',
    default: DEFAULT_POLICY_SETTINGS.lastUsedIntervalSeconds,
    description:
      "How often, at most, the token authorizer records a token's `lastUsedAt`, in seconds (1-86400).",
  },
  auditRetentionDays: {
    kind: 'number',
    default: DEFAULT_POLICY_SETTINGS.auditRetentionDays,
    description: 'How long audit events are kept (DynamoDB TTL), in days (1-3650).',
  },
  verificationCacheSeconds: {
    kind: 'number',
    default: DEFAULT_POLICY_SETTINGS.verificationCacheSeconds,
    description:
      "How long the token authorizer reuses a credential it read, in seconds; counted inside `revocationWindowSeconds` (API Gateway's cache gets the rest).",
  },
  verificationCacheNegativeSeconds: {
    kind: 'number',
    default: DEFAULT_POLICY_SETTINGS.verificationCacheNegativeSeconds,
    description: 'How long the token authorizer remembers that a token does not exist, in seconds (0-300).',
  },
  verificationCacheMaxEntries: {
    kind: 'number',
    default: DEFAULT_POLICY_SETTINGS.verificationCacheMaxEntries,
    description: 'Credentials one token authorizer container keeps in memory (least recently used go first).',
  },
  usageKeyBudget: {
    kind: 'number',
    default: DEFAULT_POLICY_SETTINGS.usageKeyBudget,
    description:
      'Tokens that may hold a gateway usage key (an API Gateway API key) at once; API Gateway allows 10,000 per account and Region. One more is refused at creation (409).',
  },
  limitClassBudget: {
    kind: 'number',
    default: DEFAULT_POLICY_SETTINGS.limitClassBudget,
    description:
      'Distinct per-token override limits (each an API Gateway usage plan beyond the types’ own); API Gateway allows 300 plans per Region. One more is refused (409).',
  },
  leaksPublicKeysUrl: {
    kind: 'string',
    default: DEFAULT_POLICY_SETTINGS.leaksPublicKeysUrl,
    description:
      'Where the public keys that sign GitHub secret scanning reports (`POST /leaks/github`) are published (https). Change it only for GitHub Enterprise Server or a test.',
  },
} as const satisfies Record<keyof PolicySettingsInput, ContextKeyDescription>;

const DEPLOYMENT_CONTEXT_KEYS = {
  senderAddress: {
    kind: 'string',
    default: undefined,
    description:
      'From address of notification emails, on a domain or address you can verify in SES. Unset: the stack deploys **without emails** (no notifier, reminder job or SES identity; a synth warning and the `EmailNotifications` output say so).',
  },
  sesIdentity: {
    kind: 'string',
    default: undefined,
    description:
      'Verified SES identity (email address or domain) that sends the emails. Default: the sender address. Needs `senderAddress`.',
  },
  sesIdentityExists: {
    kind: 'boolean',
    default: false,
    description:
      'Whether `sesIdentity` already exists in SES (the stack then uses it instead of creating it). Needs `senderAddress`.',
  },
  reminderWindowDays: {
    kind: 'number',
    default: DEFAULT_REMINDER_WINDOW_DAYS,
    description: `Days before expiry when a token owner gets one reminder email (1-${MAX_REMINDER_WINDOW_DAYS}).`,
  },
  identityProvider: {
    kind: 'string',
    default: 'cognito',
    description:
      '`cognito`: the stack creates a user pool (the API takes its ID tokens). `oidc`: an existing issuer, see `oidcIssuer`.',
  },
  oidcIssuer: {
    kind: 'string',
    default: undefined,
    description: "`oidc` only (required): the issuer URL (https), the JWTs' `iss` claim.",
  },
  oidcAudience: {
    kind: 'string',
    default: undefined,
    description: '`oidc` only (required): the expected audience (`aud`) of the JWTs.',
  },
  oidcJwksUri: {
    kind: 'string',
    default: undefined,
    description: '`oidc` only: the JWKS URL. Default: `<oidcIssuer>/.well-known/jwks.json`.',
  },
  accountIdClaim: {
    kind: 'string',
    default: 'custom:account_id',
    description: "JWT claim holding the caller's account id.",
  },
  roleClaim: {
    kind: 'string',
    default: 'custom:role',
    description: "JWT claim holding the caller's role (`admin`, `member` or `viewer`).",
  },
  emailClaim: { kind: 'string', default: 'email', description: "JWT claim holding the caller's email." },
  demoApi: {
    kind: 'boolean',
    default: true,
    description: 'Deploy the demo API (`ANY /demo/{area}/...`) behind the token authorizer.',
  },
  consoleEnabled: {
    kind: 'boolean',
    default: true,
    description:
      'Deploy the web console: S3 behind CloudFront (the `ConsoleUrl` output), the management API under the same origin, sign-in through the Cognito managed login (or the OIDC issuer). `false`: none of it is deployed.',
  },
  consoleDomainName: {
    kind: 'string',
    default: undefined,
    description:
      'A custom domain for the console (`tokens.example.com`): the distribution answers to it, and `ConsoleUrl`, the sign-in callback and `config.json` use it. Needs `consoleCertificateArn`; point the name at the distribution in your DNS.',
  },
  consoleCertificateArn: {
    kind: 'string',
    default: undefined,
    description:
      'The ACM certificate of `consoleDomainName`, requested in **us-east-1** (CloudFront takes no other).',
  },
  managementThrottle: {
    kind: 'json',
    default: { rateLimit: 50, burstLimit: 100 },
    description: 'Default method throttling of the management API: `{rateLimit, burstLimit}` (per second).',
  },
  logRetentionDays: {
    kind: 'number',
    default: 365,
    description: `Retention of the stack's log groups, in days (one of ${LOG_RETENTION_DAYS.join(', ')}).`,
  },
  authorizerInvokerAccounts: {
    kind: 'json',
    default: [],
    description:
      'Other AWS accounts (12-digit ids) whose APIs may attach the token authorizer: each gets a permission on the function for API Gateway in that account.',
  },
  apiGatewayCloudWatchRole: {
    kind: 'string',
    default: 'managed',
    description:
      "The Region's API Gateway CloudWatch Logs role (account-wide; every REST API stage that logs needs it). `managed`: the stack creates one, sets it and keeps it on `cdk destroy`. `existing`: the account already has one (`aws apigateway get-account`), the stack leaves the setting alone.",
  },
  indexUpgradeStep: {
    kind: 'number',
    default: undefined,
    description: `Only to upgrade a stack deployed before the table's indexes were narrowed: the step (1-${INDEX_UPGRADE_STEPS}, one deploy each, then unset) of README "Upgrading the table's indexes".`,
  },
  regions: {
    kind: 'json',
    default: undefined,
    description:
      'The AWS Regions one token works in, the home Region first (`["us-east-1","eu-west-1"]`): the home stack keeps every write, each other Region gets an edge stack (token authorizer on a global-table replica, demo API, alarms); README "Several Regions". Unset: the deploy Region alone.',
  },
} as const satisfies Record<string, ContextKeyDescription>;

/** Every context key this app reads, with its default and meaning (the README's configuration table). */
export const CONTEXT_KEYS: Readonly<Record<string, ContextKeyDescription>> = {
  ...POLICY_CONTEXT_KEYS,
  ...DEPLOYMENT_CONTEXT_KEYS,
};

/** Context keys of the CDK CLI itself that carry no `:`; never ours, never an error. */
const CDK_CLI_CONTEXT_KEYS = new Set(['cli-telemetry', 'acknowledged-issue-numbers']);

/** Keys owned by the CDK (feature flags, CLI settings), which this app ignores. */
export function isCdkContextKey(key: string): boolean {
  return (
    key.includes(':') ||
    key.startsWith('@aws-cdk') ||
    key.startsWith('aws-cdk') ||
    CDK_CLI_CONTEXT_KEYS.has(key)
  );
}

/**
 * Each invoker account is one statement of up to ~520 bytes in the token authorizer's resource
 * policy, which Lambda caps at 20 KB; 25 of them leave room for 15 statements of APIs in the
 * function's own account (one per API that attaches it, the demo API's included).
 * test/infra/token-authorizer.test.ts computes the worst case.
 */
const MAX_AUTHORIZER_INVOKER_ACCOUNTS = 25;

/** An AWS Region name: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-7`. */
const REGION_PATTERN = /^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
/** Replicas of one global table: each adds a replicated write per write (docs/performance.md). */
const MAX_REGIONS = 10;

const SES_DOMAIN_PATTERN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const httpsUrl = z.url({ protocol: /^https$/, error: 'must be an https URL' });
const claimName = z.string().min(1, 'must not be empty').max(100);

const deploymentSchema = z
  .object({
    senderAddress: z.email({ error: 'must be an email address' }).optional(),
    sesIdentity: z
      .union([z.email(), z.string().regex(SES_DOMAIN_PATTERN)], {
        error: 'must be an email address or a domain name',
      })
      .optional(),
    sesIdentityExists: z.boolean().default(false),
    reminderWindowDays: z
      .number()
      .int()
      .min(1)
      .max(MAX_REMINDER_WINDOW_DAYS)
      .default(DEFAULT_REMINDER_WINDOW_DAYS),
    identityProvider: z
      .enum(['cognito', 'oidc'], { error: 'must be "cognito" or "oidc"' })
      .default('cognito'),
    oidcIssuer: httpsUrl.optional(),
    oidcAudience: z.string().min(1, 'must not be empty').optional(),
    oidcJwksUri: httpsUrl.optional(),
    accountIdClaim: claimName.default('custom:account_id'),
    roleClaim: claimName.default('custom:role'),
    emailClaim: claimName.default('email'),
    demoApi: z.boolean().default(true),
    consoleEnabled: z.boolean().default(true),
    consoleDomainName: z.string().regex(SES_DOMAIN_PATTERN, 'must be a domain name').optional(),
    consoleCertificateArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[A-Za-z0-9-]+$/,
        'must be the ARN of an ACM certificate in us-east-1 (CloudFront takes certificates from there only)',
      )
      .optional(),
    managementThrottle: z
      .object({
        rateLimit: z.number().positive().max(10_000).default(50),
        burstLimit: z.number().int().min(1).max(5_000).default(100),
      })
      .strict()
      .default({ rateLimit: 50, burstLimit: 100 }),
    logRetentionDays: z
      .number()
      .refine((days): days is LogRetentionDays => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
        message: `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
      })
      .default(365),
    authorizerInvokerAccounts: z
      .array(z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'))
      .max(
        MAX_AUTHORIZER_INVOKER_ACCOUNTS,
        `at most ${MAX_AUTHORIZER_INVOKER_ACCOUNTS} accounts (each is a statement in the function policy, which holds 20 KB)`,
      )
      .refine((accounts) => new Set(accounts).size === accounts.length, 'must not repeat an account')
      .default([]),
    apiGatewayCloudWatchRole: z
      .enum(['managed', 'existing'], { error: 'must be "managed" or "existing"' })
      .default('managed'),
    indexUpgradeStep: z.number().int().min(1).max(INDEX_UPGRADE_STEPS).optional(),
    regions: z
      .array(z.string().regex(REGION_PATTERN, 'must be an AWS Region name such as "eu-west-1"'))
      .min(1, 'must name at least the home Region')
      .max(MAX_REGIONS, `at most ${MAX_REGIONS} Regions`)
      .refine((regions) => new Set(regions).size === regions.length, 'must not repeat a Region')
      .optional(),
  })
  .superRefine((value, ctx) => {
    if (value.identityProvider === 'oidc') {
      if (value.oidcIssuer === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['oidcIssuer'],
          message: 'is required when identityProvider is "oidc"',
        });
      }
      if (value.oidcAudience === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['oidcAudience'],
          message: 'is required when identityProvider is "oidc"',
        });
      }
    } else {
      for (const key of ['oidcIssuer', 'oidcAudience', 'oidcJwksUri'] as const) {
        if (value[key] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'is only used when identityProvider is "oidc"',
          });
        }
      }
    }
    if (value.indexUpgradeStep !== undefined && (value.regions?.length ?? 0) > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['indexUpgradeStep'],
        message:
          'is for a single-Region table deployed with the legacy indexes; several regions make a new global table (docs/regions.md "Migration")',
      });
    }
    if ((value.consoleDomainName === undefined) !== (value.consoleCertificateArn === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [value.consoleDomainName === undefined ? 'consoleDomainName' : 'consoleCertificateArn'],
        message: 'is required with the other of consoleDomainName and consoleCertificateArn',
      });
    }
    if (!value.consoleEnabled) {
      for (const key of ['consoleDomainName', 'consoleCertificateArn'] as const) {
        if (value[key] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [key], message: 'is only used when consoleEnabled is true' });
        }
      }
    }
    if (value.senderAddress === undefined) {
      // An SES setting without a sender would be silently ignored: emails stay off.
      for (const key of ['sesIdentity', 'sesIdentityExists'] as const) {
        if (value[key] !== undefined && value[key] !== false) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'is only used with senderAddress (without one the stack deploys without emails)',
          });
        }
      }
    } else if (value.sesIdentity !== undefined) {
      const sender = value.senderAddress.toLowerCase();
      const identity = value.sesIdentity.toLowerCase();
      const senderDomain = sender.slice(sender.lastIndexOf('@') + 1);
      const covered = identity.includes('@')
        ? identity === sender
        : senderDomain === identity || senderDomain.endsWith(`.${identity}`);
      if (!covered) {
        ctx.addIssue({
          code: 'custom',
          path: ['sesIdentity'],
          message: `does not cover senderAddress ${value.senderAddress}: SES can only send from a verified address or domain`,
        });
      }
    }
  });

/**
 * Validates the app's context and returns the deployment configuration. Throws one error listing
 * every problem: `Invalid cdk.json context:\n  - key: message`.
 */
export function loadDeploymentConfig(context: Record<string, unknown>): DeploymentConfig {
  const problems: string[] = [];
  const policyInput: Record<string, unknown> = {};
  const deploymentInput: Record<string, unknown> = {};

  for (const [key, raw] of Object.entries(context)) {
    if (isCdkContextKey(key)) continue;
    const description = CONTEXT_KEYS[key];
    if (description === undefined) {
      const suggestion = closestKey(key);
      problems.push(
        `${key}: unknown context key${suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`}`,
      );
      continue;
    }
    const coerced = coerce(raw, description.kind);
    if (!coerced.ok) {
      problems.push(`${key}: ${coerced.message}`);
      continue;
    }
    if (coerced.value === undefined) continue;
    if (key in POLICY_CONTEXT_KEYS) policyInput[key] = coerced.value;
    else deploymentInput[key] = coerced.value;
  }

  const policy = policySettingsSchema.safeParse(policyInput);
  if (!policy.success) problems.push(...policy.error.issues.map(formatIssue));
  const deployment = deploymentSchema.safeParse(deploymentInput);
  if (!deployment.success) problems.push(...deployment.error.issues.map(formatIssue));

  if (problems.length > 0 || !policy.success || !deployment.success) {
    throw new Error(`Invalid cdk.json context:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }

  const settings = deployment.data;
  return {
    policy: policy.data,
    senderAddress: settings.senderAddress,
    sesIdentity:
      settings.senderAddress === undefined ? undefined : (settings.sesIdentity ?? settings.senderAddress),
    sesIdentityExists: settings.sesIdentityExists,
    reminderWindowDays: settings.reminderWindowDays,
    identity:
      settings.identityProvider === 'oidc' &&
      settings.oidcIssuer !== undefined &&
      settings.oidcAudience !== undefined
        ? {
            kind: 'oidc',
            issuer: settings.oidcIssuer,
            audience: settings.oidcAudience,
            ...(settings.oidcJwksUri === undefined ? {} : { jwksUri: settings.oidcJwksUri }),
          }
        : { kind: 'cognito' },
    accountIdClaim: settings.accountIdClaim,
    roleClaim: settings.roleClaim,
    emailClaim: settings.emailClaim,
    demoApi: settings.demoApi,
    consoleEnabled: settings.consoleEnabled,
    consoleDomain:
      settings.consoleDomainName === undefined || settings.consoleCertificateArn === undefined
        ? undefined
        : { domainName: settings.consoleDomainName, certificateArn: settings.consoleCertificateArn },
    managementThrottle: settings.managementThrottle,
    logRetentionDays: settings.logRetentionDays,
    authorizerInvokerAccounts: settings.authorizerInvokerAccounts,
    apiGatewayCloudWatchRole: settings.apiGatewayCloudWatchRole,
    indexUpgradeStep: settings.indexUpgradeStep,
    regions: settings.regions,
  };
}

/** The JWKS URL of an OIDC issuer: the configured one, else `<issuer>/.well-known/jwks.json`. */
export function jwksUriOf(identity: Extract<IdentityConfig, { kind: 'oidc' }>): string {
  return identity.jwksUri ?? defaultJwksUrlOf(identity.issuer);
}

/** The configuration table of the README, generated from {@link CONTEXT_KEYS}. */
export function contextKeysMarkdownTable(): string {
  const rows = Object.entries(CONTEXT_KEYS).map(
    ([key, { default: value, description }]) =>
      `| \`${key}\` | ${value === undefined ? '(unset)' : `\`${JSON.stringify(value)}\``} | ${description} |`,
  );
  return ['| key | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

type Coerced = { ok: true; value: unknown } | { ok: false; message: string };

/** `-c key=value` passes strings; turn them into what the key expects. Non-strings pass through. */
function coerce(raw: unknown, kind: ValueKind): Coerced {
  if (typeof raw !== 'string') return { ok: true, value: raw };
  const text = raw.trim();
  switch (kind) {
    case 'string':
      return { ok: true, value: raw };
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(text)
        ? { ok: true, value: Number(text) }
        : { ok: false, message: `expected a number, got "${raw}"` };
    case 'boolean':
      if (text === 'true') return { ok: true, value: true };
      if (text === 'false') return { ok: true, value: false };
      return { ok: false, message: `expected true or false, got "${raw}"` };
    case 'json':
      try {
        return { ok: true, value: JSON.parse(text) };
      } catch {
        return {
          ok: false,
          message: `expected JSON (an array or object), got "${raw}"; on the command line quote it, e.g. -c 'key=["a","b"]'`,
        };
      }
  }
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.') || '(root)';
  return `${path}: ${issue.message}`;
}

function closestKey(key: string): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of Object.keys(CONTEXT_KEYS)) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (best === undefined || distance < best.distance) best = { key: candidate, distance };
  }
  return best !== undefined && best.distance <= Math.max(2, Math.floor(key.length / 4))
    ? best.key
    : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
