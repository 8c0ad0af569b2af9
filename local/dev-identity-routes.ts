import { z } from 'zod';
import { IDENTITY_PATTERN, IDENTITY_PATTERN_DESCRIPTION } from '../lambdas/core/identity.js';
import { ROLES } from '../lambdas/core/model.js';
import type { DevIdentityProvider } from './dev-identity.js';
import type { GatewayResponse } from './gateway-responses.js';

// The dev identity provider's two routes on the local gateway (no authorizer in front):
//   POST /_local/session {email, accountId, role, userId?} → 200 {jwt, userId, expiresAt}
//   GET  /_local/.well-known/jwks.json → the public key

export const SESSION_PATH = '/_local/session';
export const JWKS_PATH = '/_local/.well-known/jwks.json';

// The ids must match the identity pattern the JWT authorizer holds `sub` and the account claim to
// (lambdas/core/identity.ts): the dev sign-in never issues a JWT the API would refuse.
const identity = z.string().regex(IDENTITY_PATTERN, `must be ${IDENTITY_PATTERN_DESCRIPTION}`);

const sessionRequestSchema = z
  .object({
    email: z.email(),
    accountId: identity,
    role: z.enum(ROLES),
    userId: identity.optional(),
  })
  .strict();

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

const respond = (statusCode: number, body: unknown): GatewayResponse => ({
  statusCode,
  headers: JSON_HEADERS,
  body: JSON.stringify(body),
});

function validationFailed(message: string, details?: { path: string; message: string }[]): GatewayResponse {
  return respond(400, {
    error: { code: 'VALIDATION_FAILED', message, ...(details === undefined ? {} : { details }) },
  });
}

export function handleSessionRequest(provider: DevIdentityProvider, body: string | null): GatewayResponse {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? '');
  } catch {
    return validationFailed('The request body must be JSON: {"email", "accountId", "role", "userId"?}');
  }
  const result = sessionRequestSchema.safeParse(parsed);
  if (!result.success) {
    return validationFailed(
      'Invalid request body',
      result.error.issues.map((issue) => ({
        path: issue.path.map(String).join('.') || '(root)',
        message: issue.message,
      })),
    );
  }
  return respond(200, provider.issueSession(result.data));
}

export function handleJwksRequest(provider: DevIdentityProvider): GatewayResponse {
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'max-age=300' },
    body: JSON.stringify(provider.jwks()),
  };
}
