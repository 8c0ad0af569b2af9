import { z } from 'zod';
import { MAX_SOURCE_IP_LENGTH } from '../core/audit.js';
import { AUTHORIZATION_REASONS } from '../core/authorization.js';
import { pathIssueOf } from '../core/gateway-scope.js';
import { SCOPE_PATTERN } from '../core/scope-patterns.js';

// The verify API's contract (POST /verify, docs/verify.md): what a service outside API Gateway
// sends to have a token judged by the token authorizer's decision, and what it gets back. The
// response never carries the token, its hash or anything secret: the owner and the scopes only.

/** Longer than any token of any prefix (a prefix of ≤ 16, 43 random characters, a checksum). */
const TOKEN_MAX_LENGTH = 256;
const PATH_MAX_LENGTH = 2048;

export const verifyRequestSchema = z
  .object({
    token: z
      .string()
      .max(TOKEN_MAX_LENGTH)
      .describe(
        'The token the request presented (without `Bearer `). Anything that is not a well-formed token of this deployment is `MALFORMED`, judged without any read.',
      ),
    method: z
      .string()
      .regex(/^[A-Za-z]{1,16}$/, 'must be an HTTP method')
      .transform((value) => value.toUpperCase())
      .optional()
      .describe(
        'The request method, with `path`: GET/HEAD/OPTIONS need `<area>:read`, the rest `<area>:write`.',
      ),
    path: z
      .string()
      .max(PATH_MAX_LENGTH)
      .regex(/^\/[^?#]*$/, 'must be a path starting with `/`, without a query string')
      .refine(
        (value) => pathIssueOf(value) === undefined,
        'must not hold dot segments, encoded separators or backslashes (the authorizer refuses such paths too)',
      )
      .optional()
      .describe(
        "The request path, relative to your service's base path: its first segment is the area (the token authorizer's area rule).",
      ),
    requiredScope: z
      .string()
      .regex(SCOPE_PATTERN, 'must be a scope (<area>:read or <area>:write)')
      .optional()
      .describe(
        'The scope the request needs; wins over `method`/`path` (as a route→scope map does at the gateway). With neither, no scope is checked: only whether the token is live (not revoked, expired or disabled) and, with `sourceIp`, its allowlist.',
      ),
    sourceIp: z
      .string()
      .max(MAX_SOURCE_IP_LENGTH)
      .optional()
      .describe(
        "The client's address, checked against the token's IP allowlist. Omitted: a token with an allowlist is `IP_NOT_ALLOWED`.",
      ),
  })
  .strict()
  .refine((body) => (body.method === undefined) === (body.path === undefined), {
    message: '`method` and `path` go together: give both or neither',
    path: ['path'],
  })
  .meta({
    id: 'VerifyRequest',
    description: 'A token and the request it came with. Unknown fields are refused with 400.',
    // JSON Schema cannot see the refinement above; say it in the schema too.
    dependentRequired: { method: ['path'], path: ['method'] },
  });
export type VerifyRequest = z.output<typeof verifyRequestSchema>;

export const verifyResultSchema = z
  .object({
    valid: z.boolean().describe('Whether the request may go ahead: `reason` is `VALID`.'),
    reason: z
      .enum(AUTHORIZATION_REASONS)
      .describe(
        "The token authorizer's reason code: MALFORMED, NOT_FOUND, EXPIRED, REVOKED, DISABLED (no valid credential: a gateway's 401), IP_NOT_ALLOWED, INSUFFICIENT_SCOPE (a 403), VALID.",
      ),
    tokenId: z.string().optional(),
    userId: z.string().optional().describe("The token's owner."),
    accountId: z.string().optional(),
    scopes: z.array(z.string()).optional(),
    type: z.string().optional().describe("The token's type."),
  })
  .meta({
    id: 'VerifyResult',
    description:
      "The token authorizer's decision for a token. The owner fields are present whenever the token is one of this deployment (every reason but MALFORMED and NOT_FOUND); never the token, its hash or any secret.",
  });
export type VerifyResult = z.output<typeof verifyResultSchema>;
