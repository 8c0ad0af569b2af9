import { z } from 'zod';
import type { ErrorCode } from '../core/errors.js';
import { IDENTITY_PATTERN, IDENTITY_PATTERN_DESCRIPTION, WHOLE_ACCOUNT } from '../core/identity.js';
import { AUDIT_EVENT_ID_PATTERN, TOKEN_ID_PATTERN } from '../core/ids.js';
import {
  type AuditEventView,
  type CreateTokenInput,
  DESCRIPTION_MAX_LENGTH,
  LIST_STATUS_FILTERS,
  type ListAuditEventsInput,
  type ListTokensInput,
  MAX_ALLOWED_IPS_PER_TOKEN,
  MAX_GRACE_PERIOD_SECONDS,
  MAX_SCOPES_PER_TOKEN,
  NAME_MAX_LENGTH,
  type PolicyView,
  type RevokeAllInput,
  type RotateTokenInput,
  type TokenAccessView,
  type UpdateTokenInput,
} from '../core/inputs.js';
import { AUDIT_ACTIONS, ROLES, type TokenDetailView, type TokenView } from '../core/model.js';
import { QUOTA_PERIODS, RATE_LIMIT_BOUNDS } from '../core/rate-limits.js';
import { TOKEN_TYPE_NAME_PATTERN } from '../core/settings.js';
import {
  githubLeakFeedbackSchema,
  githubLeakReportSchema,
  reportLeakRequestSchema,
  reportLeakResultSchema,
} from './leak-schemas.js';
import { quotaSchema, rateLimitSchema } from './policy-settings.js';
import type { ManagementRouteName } from './routes.js';
import { verifyRequestSchema, verifyResultSchema } from './verify-schemas.js';

// The management API's contract as zod schemas: the HTTP layer validates requests with them, the
// handlers' results are typed by them, and lambdas/contract/openapi.ts turns them into the OpenAPI
// document (schemas with `.meta({ id })` become named components). One source, so the document
// cannot drift from what the API accepts.

// The token fields' limits are the domain's (core/inputs.ts); the contract states them.
const LIST_LIMIT_MAX = 100;
const LIST_LIMIT_DEFAULT = 50;
const CURSOR_MAX_LENGTH = 2048;
/** The largest request body accepted, in bytes (after base64 decoding). */
export const MAX_BODY_BYTES = 16 * 1024;

// A lone UTF-16 surrogate survives JSON.parse but is not Unicode; it would fail later (DynamoDB,
// email) as a server error, so it is refused at the edge. U+FFFD is what invalid UTF-8 becomes when
// a gateway decodes it leniently: it is refused too, so that bytes that were not text are never
// stored as text (lambdas/http/request.ts refuses it in the raw body as well).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const REPLACEMENT_CHARACTER = '\uFFFD';
// Control characters. A name ends up in email subjects and log lines, where CR/LF is an injection.
const CONTROL_CHARACTER = /\p{Cc}/u;
const CONTROL_EXCEPT_WHITESPACE = /[^\P{Cc}\t\n\r]/u;

const wellFormed = (schema: z.ZodString) =>
  schema.refine(
    (value) => !LONE_SURROGATE.test(value) && !value.includes(REPLACEMENT_CHARACTER),
    'must be well-formed UTF-8 text (no lone surrogates, no U+FFFD)',
  );

const isoDateTime = z.iso.datetime({ offset: true });

// ---------------------------------------------------------------------------------------------
// Requests

const nameSchema = wellFormed(
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(NAME_MAX_LENGTH)
    .refine((value) => !CONTROL_CHARACTER.test(value), 'must not contain control characters'),
).describe(`1–${NAME_MAX_LENGTH} characters (trimmed), no control characters.`);

const descriptionSchema = wellFormed(
  z
    .string()
    .max(DESCRIPTION_MAX_LENGTH)
    .refine(
      (value) => !CONTROL_EXCEPT_WHITESPACE.test(value),
      'must not contain control characters other than tab and line breaks',
    ),
).describe(`What the token is for; up to ${DESCRIPTION_MAX_LENGTH} characters.`);

const scopesSchema = z
  .array(z.string().max(100))
  .min(1)
  .max(MAX_SCOPES_PER_TOKEN)
  .describe('`<area>:read` / `<area>:write` scopes from the catalogue (GET /policy); no duplicates.');

const allowedIpsSchema = z
  .array(z.string().max(64))
  .max(MAX_ALLOWED_IPS_PER_TOKEN)
  .describe(
    'IPv4/IPv6 addresses or CIDRs the token may be used from; stored normalised (`10.0.0.1` → `10.0.0.1/32`). ' +
      'Empty: any address, unless the type requires an allowlist.',
  );

/** A user id in a path or query: the one identity pattern JWTs must match too (identity.ts). */
const userIdSchema = z
  .string()
  .regex(IDENTITY_PATTERN, `must be ${IDENTITY_PATTERN_DESCRIPTION}`)
  .describe(`A user id: ${IDENTITY_PATTERN_DESCRIPTION}.`);

const limitSchema = z
  .string()
  .regex(/^[0-9]{1,3}$/, `must be a whole number from 1 to ${LIST_LIMIT_MAX}`)
  .transform(Number)
  .pipe(z.number().int().min(1).max(LIST_LIMIT_MAX))
  .default(LIST_LIMIT_DEFAULT)
  .describe(`Page size, 1–${LIST_LIMIT_MAX}; default ${LIST_LIMIT_DEFAULT}.`);

const cursorSchema = z
  .string()
  .min(1)
  .max(CURSOR_MAX_LENGTH)
  .regex(/^[A-Za-z0-9_-]+$/, 'is not a cursor returned by this API')
  .describe(
    '`nextCursor` of the previous page. Bound to the caller and the query, and tamper-evident: any other cursor is a 400.',
  );

const { requestsPerSecond: RPS, burst: BURST, quotaLimit: QUOTA } = RATE_LIMIT_BOUNDS;

const rateLimitComponent = rateLimitSchema.meta({
  id: 'RateLimit',
  description:
    `A throttle, as API Gateway applies it: a steady ${RPS.min}–${RPS.max} requests per second and a bucket ` +
    `of ${BURST.min}–${BURST.max} requests (burst).`,
});

const quotaComponent = quotaSchema.meta({
  id: 'Quota',
  description: `At most \`limit\` (${QUOTA.min}–${QUOTA.max}) requests per calendar DAY, WEEK (from Monday) or MONTH, UTC.`,
});

const tokenLimitsRequestSchema = z
  .object({
    rateLimit: rateLimitComponent
      .nullable()
      .optional()
      .describe("At most the type's rateLimit (GET /policy), each number. null: the type's."),
    quota: quotaComponent
      .nullable()
      .optional()
      .describe(
        "At most the type's quota, over the same period; any quota where the type has none. null: the type's.",
      ),
  })
  .strict()
  .meta({
    id: 'TokenLimitsRequest',
    description:
      "The token's own rate limit and quota, up to its type's ceiling (a 400 above it). On create, an absent " +
      "field is the type's; on edit, an absent field stays as it is and null sets it back to the type's. " +
      "On edit, only an admin may raise a token's limits (or set them back to a higher type's): anyone " +
      'else may only lower them (403). A combination of limits no token has yet takes a slot of the ' +
      "deployment's limitClassBudget (409 LIMIT_EXCEEDED when full).",
  });

const createTokenRequestObject = z
  .object({
    name: nameSchema,
    description: descriptionSchema.default(''),
    scopes: scopesSchema,
    expiresInDays: z
      .number()
      .int()
      .min(1)
      .max(3650)
      .optional()
      .describe('One of the expiry presets (GET /policy). Not together with `expiresAt`.'),
    expiresAt: isoDateTime
      .nullable()
      .optional()
      .describe(
        'An explicit expiry (ISO 8601 with offset), in the future and within the maximum lifetime. ' +
          '`null` asks for a token that never expires, accepted only where the policy has `allowNoExpiry`. ' +
          'Neither this nor `expiresInDays`: the default expiry (`defaultExpiryDays`).',
      ),
    type: z
      .string()
      .regex(TOKEN_TYPE_NAME_PATTERN, 'is not a token type name (see tokenTypes in GET /policy)')
      .optional()
      .describe('A token type from GET /policy; default `defaultTokenType`.'),
    allowedIps: allowedIpsSchema.optional(),
    limits: tokenLimitsRequestSchema.optional(),
  })
  .strict()
  .superRefine((request, ctx) => {
    if (request.expiresInDays !== undefined && request.expiresAt !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['expiresAt'],
        message: 'give either expiresInDays or expiresAt, not both',
      });
    }
  });

export const createTokenRequestSchema = createTokenRequestObject.meta({
  id: 'CreateTokenRequest',
  description: 'A new token. Unknown fields (userId, status, hashes, timestamps) are refused with 400.',
  // JSON Schema cannot see the refinement above; say it in the schema too.
  not: { required: ['expiresInDays', 'expiresAt'] },
});
export type CreateTokenRequest = z.output<typeof createTokenRequestSchema>;

export const listTokensQuerySchema = z
  .object({
    status: z
      .enum(LIST_STATUS_FILTERS)
      .default('all')
      .describe('Only tokens with this status; default `all`.'),
    userId: userIdSchema
      .or(z.literal(WHOLE_ACCOUNT))
      .optional()
      .describe("Admins only: another user's tokens, or `*` for every token of the account."),
    limit: limitSchema,
    cursor: cursorSchema.optional(),
  })
  .strict();
export type ListTokensQuery = z.output<typeof listTokensQuerySchema>;

const tokenPathSchema = z.object({
  id: z
    .string()
    .regex(TOKEN_ID_PATTERN, 'is not a token id')
    .describe('Token id: `tok_` + 22 base62 characters.'),
});

export const updateTokenRequestSchema = z
  .object({
    name: nameSchema.optional(),
    description: descriptionSchema.optional(),
    scopes: scopesSchema.optional(),
    allowedIps: allowedIpsSchema.optional(),
    expiresAt: isoDateTime
      .nullable()
      .optional()
      .describe(
        "A new expiry: in the future and no later than the maximum lifetime counted from the token's creation. " +
          '`null` (never expires) only where the policy has `allowNoExpiry`.',
      ),
    limits: tokenLimitsRequestSchema.optional(),
  })
  .strict()
  .refine((request) => Object.keys(request).length > 0, 'give at least one field to change')
  .meta({
    id: 'UpdateTokenRequest',
    description:
      'The fields to change; absent fields stay as they are. Scopes are checked against the catalogue, the token type and the caller.',
    minProperties: 1,
  });
export type UpdateTokenRequest = z.output<typeof updateTokenRequestSchema>;

const rotateTokenRequestSchema = z
  .object({
    gracePeriodSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_GRACE_PERIOD_SECONDS)
      .default(0)
      .describe(
        `How long the old secret keeps working, 0–${MAX_GRACE_PERIOD_SECONDS} seconds; default 0 (it stops at once).`,
      ),
  })
  .strict()
  .meta({ id: 'RotateTokenRequest', description: 'A rotation; the body may be omitted.' });
type RotateTokenRequest = z.output<typeof rotateTokenRequestSchema>;

export const revokeAllQuerySchema = z
  .object({
    userId: userIdSchema
      .or(z.literal(WHOLE_ACCOUNT))
      .optional()
      .describe(
        "Admins only: another user's tokens, or `*` for every token of the account. Default: your own.",
      ),
  })
  .strict();
type RevokeAllQuery = z.output<typeof revokeAllQuerySchema>;

export const userPathSchema = z.object({
  userId: userIdSchema.describe('A user of your account.'),
});

const tokenAccessRequestSchema = z
  .object({
    enabled: z.boolean().describe("false: the user's tokens stop verifying and they cannot create tokens."),
  })
  .strict()
  .meta({ id: 'TokenAccessRequest', description: "Switch a user's token access." });

export const listAuditEventsQuerySchema = z
  .object({
    tokenId: z
      .string()
      .regex(TOKEN_ID_PATTERN, 'is not a token id')
      .optional()
      .describe('Only the events of this token.'),
    userId: userIdSchema
      .optional()
      .describe(
        "Admins only: the events about this user's tokens and access. Default for admins: the whole account.",
      ),
    limit: limitSchema,
    cursor: cursorSchema.optional(),
  })
  .strict();
export type ListAuditEventsQuery = z.output<typeof listAuditEventsQuerySchema>;

// ---------------------------------------------------------------------------------------------
// Responses

const TOKEN_STATUSES = ['active', 'revoked', 'expired'] as const;

const tokenViewShape = {
  id: z.string().regex(TOKEN_ID_PATTERN),
  name: z.string(),
  description: z.string(),
  scopes: z.array(z.string()),
  type: z.string(),
  allowedIps: z.array(z.string()).describe('Normalised CIDRs; empty = any address.'),
  hint: z.string().describe('The prefix and the last 4 characters of the secret, e.g. `atk_…a1B2`.'),
  status: z.enum(TOKEN_STATUSES),
  createdAt: isoDateTime,
  expiresAt: isoDateTime.nullable().describe('null: never expires.'),
  lastUsedAt: isoDateTime.nullable(),
  rotatedAt: isoDateTime.nullable(),
  userId: z.string().describe('The owner.'),
  accountId: z.string(),
  createdBy: z.string().describe('The user who created it.'),
};

const tokenViewSchema = z.object(tokenViewShape).meta({
  id: 'Token',
  description: 'A token as the API shows it. Never carries the secret or its hash.',
});

const quotaUsageSchema = z
  .object({
    used: z.number().int().min(0),
    limit: z.number().int(),
    remaining: z.number().int().min(0),
    period: z.enum(QUOTA_PERIODS),
    periodStart: isoDateTime,
    resetsAt: isoDateTime.describe('When the next period starts (UTC).'),
  })
  .meta({ id: 'QuotaUsage', description: "The token's use of its quota in the current period." });

const tokenDetailShape = {
  ...tokenViewShape,
  limits: z
    .object({
      rateLimit: rateLimitComponent,
      quota: quotaComponent.nullable().describe('null: no quota.'),
      source: z
        .enum(['type', 'token'])
        .describe(
          "`type`: the type's limits; `token`: the token has limits of its own (the rest from its type).",
        ),
    })
    .nullable()
    .describe(
      'The rate limit and quota that apply to the token at the gateway; null only when its type is no longer configured.',
    ),
  usage: quotaUsageSchema
    .nullable()
    .describe(
      'Its use of its quota so far in this period; null when it has no quota, is not active, or the usage cannot be read right now.',
    ),
};

const tokenDetailSchema = z.object(tokenDetailShape).meta({
  id: 'TokenDetail',
  description:
    'One token as the API shows it, with the limits that apply to it and its quota usage. Never carries the secret or its hash.',
});

const createdTokenSchema = z
  .object({
    ...tokenDetailShape,
    secret: z
      .string()
      .describe(
        'The token itself. Shown in this response only: it is never stored and cannot be shown again.',
      ),
  })
  .meta({ id: 'CreatedToken', description: 'The new token and its secret, shown this once only.' });

const tokenListSchema = z
  .object({
    items: z.array(tokenViewSchema).describe('Newest first.'),
    nextCursor: z
      .string()
      .nullable()
      .describe(
        'Pass as `cursor` for the next page; null on the last page. A page may hold fewer than `limit` items.',
      ),
  })
  .meta({ id: 'TokenList', description: 'One page of tokens.' });

const revokeAllJobPathSchema = z.object({
  jobId: z
    .string()
    .regex(AUDIT_EVENT_ID_PATTERN, 'is not a job id')
    .describe('Job id: `evt_` + 22 base62 characters (also the id of its summary audit event).'),
});

const revokeAllJobFields = {
  jobId: z
    .string()
    .describe('The job: read its progress at `GET /revoke-all-jobs/{jobId}`; also its summary event id.'),
  status: z
    .enum(['running', 'done'])
    .describe('`done`: no active token of the target is left, the summary event is written.'),
  revoked: z.number().int().min(0).describe('How many active tokens the job revoked so far.'),
};

const revokeAllResultSchema = z.object(revokeAllJobFields).meta({
  id: 'RevokeAllResult',
  description:
    'The outcome of revoking all tokens: 200 when the job finished within the request (repeating it answers 0), 202 with `status: running` while a worker finishes a large account.',
});

const revokeAllJobSchema = z
  .object({
    ...revokeAllJobFields,
    target: z.string().describe('The user whose tokens it revokes, or `*` for the whole account.'),
    requestedBy: z.string().describe('The user who started it.'),
    startedAt: z.string(),
    finishedAt: z.string().nullable().describe('When it found nothing left to revoke; null while running.'),
  })
  .meta({ id: 'RevokeAllJob', description: 'A revoke-all job and its progress.' });

const tokenAccessSchema = z
  .object({
    userId: z.string(),
    accountId: z.string(),
    enabled: z.boolean(),
    updatedAt: isoDateTime.nullable().describe('null: never switched.'),
    updatedBy: z.string().nullable(),
    tokensAffected: z
      .number()
      .int()
      .min(0)
      .describe(
        "How many of the user's token credentials this call switched (0 on GET or when nothing changed).",
      ),
  })
  .meta({ id: 'TokenAccess', description: "A user's token access." });

const auditValueSchema = z.union([z.string(), z.array(z.string()), z.null()]);

const auditEventSchema = z
  .object({
    id: z.string().regex(AUDIT_EVENT_ID_PATTERN),
    at: isoDateTime,
    action: z.enum(AUDIT_ACTIONS),
    accountId: z.string(),
    subjectUserId: z.string().describe('Whose token or access the event is about.'),
    tokenId: z.string().nullable(),
    tokenName: z.string().nullable(),
    actor: z.object({
      userId: z
        .string()
        .nullable()
        .describe('null: the system (expiry; secret scanning, `details.reportedBy`).'),
      role: z.enum(ROLES).nullable(),
      sourceIp: z.string().nullable(),
      userAgent: z.string().nullable(),
    }),
    changes: z
      .array(z.object({ field: z.string(), from: auditValueSchema, to: auditValueSchema }))
      .describe('token.updated: each changed field with its old and new value.'),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  })
  .meta({ id: 'AuditEvent', description: 'One recorded action. Never carries a secret or its hash.' });

const auditEventListSchema = z
  .object({
    items: z.array(auditEventSchema).describe('Newest first.'),
    nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page.'),
  })
  .meta({ id: 'AuditEventList', description: 'One page of audit events.' });

const tokenTypeViewSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    allowedScopes: z.array(z.string()).describe('The scopes this type may carry.'),
    requireIpAllowlist: z.boolean(),
    minAllowlistPrefix: z
      .object({ ipv4: z.number().int(), ipv6: z.number().int() })
      .nullable()
      .describe(
        'With requireIpAllowlist: the shortest prefix an allowlist entry may have per family (wider ranges are a 400); null otherwise.',
      ),
    rateLimit: rateLimitComponent.describe('The most a token of this type gets; a token may be given less.'),
    quota: quotaComponent
      .nullable()
      .describe("The type's quota; null: none (a token may still be given one)."),
  })
  .meta({ id: 'TokenType', description: 'A kind of token and its restrictions.' });

export const policySchema = z
  .object({
    tokenPrefix: z.string().describe('Every token starts with `<tokenPrefix>_`.'),
    expiryPresetsDays: z.array(z.number().int()),
    defaultExpiryDays: z.number().int().describe('Used when a create request names no expiry.'),
    maxLifetimeDays: z.number().int(),
    allowNoExpiry: z.boolean().describe('Whether `"expiresAt": null` (never expires) is accepted.'),
    limits: z.object({
      maxActiveTokensPerUser: z.number().int(),
      maxActiveTokensPerAccount: z.number().int(),
      maxScopesPerToken: z.number().int(),
      maxAllowedIpsPerToken: z.number().int(),
      maxNameLength: z.number().int(),
      maxDescriptionLength: z.number().int(),
    }),
    scopeCatalogue: z.array(z.string()),
    tokenTypes: z.array(tokenTypeViewSchema),
    defaultTokenType: z.string(),
    revocationWindowSeconds: z
      .number()
      .int()
      .describe('A revoked token may still pass the gateway for at most this long.'),
    usageKeyBudget: z
      .number()
      .int()
      .describe(
        'How many active tokens the deployment holds at once (each has a gateway usage key); creating one more is a 409 LIMIT_EXCEEDED.',
      ),
  })
  .meta({ id: 'Policy', description: 'What tokens this deployment lets users create.' });

export const ERROR_CODES = [
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'VALIDATION_FAILED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'LIMIT_EXCEEDED',
  'CONFLICT',
  'RATE_LIMITED',
  'QUOTA_EXCEEDED',
  'TOKEN_NOT_READY',
  'INTERNAL',
] as const satisfies readonly ErrorCode[];

/** The HTTP status the API answers with for each error code. */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  VALIDATION_FAILED: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  LIMIT_EXCEEDED: 409,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  TOKEN_NOT_READY: 503,
  INTERNAL: 500,
};

export const ERROR_COMPONENT_ID = 'Error';

export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string().describe('For people; a 500 never says more than "Internal error".'),
      details: z
        .array(
          z.object({
            path: z
              .string()
              .describe('Dotted path of the offending field, e.g. `scopes.2`; empty for the whole input.'),
            message: z.string(),
          }),
        )
        .optional(),
    }),
  })
  .meta({ id: ERROR_COMPONENT_ID, description: 'Every error response.' });
export type ErrorResponse = z.output<typeof errorResponseSchema>;

const openApiDocumentSchema = z
  .record(z.string(), z.unknown())
  .meta({ id: 'OpenApiDocument', description: 'An OpenAPI 3.1 document.' });

// ---------------------------------------------------------------------------------------------
// Per-route contracts

export interface RouteContract {
  readonly body?: z.ZodType;
  readonly query?: z.ZodType;
  readonly path?: z.ZodType;
  /** Success responses by status; null = no body. */
  readonly responses: Readonly<Record<number, z.ZodType | null>>;
  /** Errors the route itself can answer besides 401/403 (authenticated routes) and 500 (all). */
  readonly errors: readonly ErrorCode[];
  /** The body may be omitted (treated as `{}`). */
  readonly bodyOptional?: boolean;
  /**
   * A body the route reads from the raw event itself (a signed body: POST /leaks/github); described
   * in the OpenAPI document, not parsed by routeHandler.
   */
  readonly rawBody?: z.ZodType;
}

export const ROUTE_CONTRACTS = {
  createToken: {
    body: createTokenRequestSchema,
    responses: { 201: createdTokenSchema },
    errors: ['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'LIMIT_EXCEEDED'],
  },
  listTokens: {
    query: listTokensQuerySchema,
    responses: { 200: tokenListSchema },
    errors: ['VALIDATION_FAILED'],
  },
  getToken: {
    path: tokenPathSchema,
    responses: { 200: tokenDetailSchema },
    errors: ['VALIDATION_FAILED', 'NOT_FOUND'],
  },
  revokeToken: {
    path: tokenPathSchema,
    responses: { 204: null },
    errors: ['VALIDATION_FAILED', 'NOT_FOUND', 'CONFLICT'],
  },
  updateToken: {
    path: tokenPathSchema,
    body: updateTokenRequestSchema,
    responses: { 200: tokenDetailSchema },
    errors: [
      'VALIDATION_FAILED',
      'PAYLOAD_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE',
      'NOT_FOUND',
      'CONFLICT',
      'LIMIT_EXCEEDED',
    ],
  },
  rotateToken: {
    path: tokenPathSchema,
    body: rotateTokenRequestSchema,
    bodyOptional: true,
    responses: { 201: createdTokenSchema },
    errors: ['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'NOT_FOUND', 'CONFLICT'],
  },
  revokeAllTokens: {
    query: revokeAllQuerySchema,
    responses: { 200: revokeAllResultSchema, 202: revokeAllResultSchema },
    errors: ['VALIDATION_FAILED'],
  },
  getRevokeAllJob: {
    path: revokeAllJobPathSchema,
    responses: { 200: revokeAllJobSchema },
    errors: ['VALIDATION_FAILED', 'NOT_FOUND'],
  },
  setUserTokenAccess: {
    path: userPathSchema,
    body: tokenAccessRequestSchema,
    responses: { 200: tokenAccessSchema },
    errors: ['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'],
  },
  getUserTokenAccess: {
    path: userPathSchema,
    responses: { 200: tokenAccessSchema },
    errors: ['VALIDATION_FAILED'],
  },
  listAuditEvents: {
    query: listAuditEventsQuerySchema,
    responses: { 200: auditEventListSchema },
    errors: ['VALIDATION_FAILED'],
  },
  getPolicy: {
    responses: { 200: policySchema },
    errors: [],
  },
  reportLeaks: {
    rawBody: githubLeakReportSchema,
    responses: { 200: githubLeakFeedbackSchema },
    errors: ['UNAUTHORIZED', 'VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE'],
  },
  reportLeak: {
    body: reportLeakRequestSchema,
    responses: { 200: reportLeakResultSchema },
    errors: ['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'NOT_FOUND'],
  },
  verifyToken: {
    body: verifyRequestSchema,
    responses: { 200: verifyResultSchema },
    errors: ['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'],
  },
  getOpenApi: {
    responses: { 200: openApiDocumentSchema },
    errors: [],
  },
} as const satisfies Record<ManagementRouteName, RouteContract>;

export type RouteContracts = typeof ROUTE_CONTRACTS;

// ---------------------------------------------------------------------------------------------
// One shape: what a request validates into is what the use case takes (core/inputs.ts), and what a
// use case returns is what the response schema describes. These lines fail to compile if the
// contract and the domain drift apart.

type Assignable<From, To> = [From] extends [To] ? true : false;
const oneShape: {
  create: Assignable<CreateTokenRequest, CreateTokenInput>;
  update: Assignable<UpdateTokenRequest, UpdateTokenInput>;
  rotate: Assignable<RotateTokenRequest, RotateTokenInput>;
  list: Assignable<ListTokensQuery, ListTokensInput>;
  revokeAll: Assignable<RevokeAllQuery, RevokeAllInput>;
  audit: Assignable<ListAuditEventsQuery, ListAuditEventsInput>;
  token: Assignable<TokenView, z.input<typeof tokenViewSchema>>;
  tokenDetail: Assignable<TokenDetailView, z.input<typeof tokenDetailSchema>>;
  auditView: Assignable<AuditEventView, z.input<typeof auditEventSchema>>;
  access: Assignable<TokenAccessView, z.input<typeof tokenAccessSchema>>;
  policy: Assignable<PolicyView, z.input<typeof policySchema>>;
  policyBack: Assignable<z.output<typeof policySchema>, PolicyView>;
} = {
  create: true,
  update: true,
  rotate: true,
  list: true,
  revokeAll: true,
  audit: true,
  token: true,
  tokenDetail: true,
  auditView: true,
  access: true,
  policy: true,
  policyBack: true,
};
void oneShape;
