import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { DynamoUserAccessRepository } from '../adapters/dynamo-user-access.js';
import { InvalidJwtError, JwtIdentityVerifier } from '../adapters/jwt-identity.js';
import { bearerCredentials } from '../core/bearer.js';
import type { CallerContext } from '../core/caller-context.js';
import { UnauthorizedError } from '../core/errors.js';
import type { VerifiedIdentity } from '../core/ports.js';
import { allowStagePolicy, readRestAuthorizerEvent, unauthorized } from '../core/rest-authorizer.js';
import { managementRefusal } from '../core/user-access-service.js';
import { sharedDocumentClient } from '../runtime/clients.js';
import { ENV, requireEnv } from '../runtime/env.js';
import { jwtVerifierConfigFromEnv } from '../runtime/jwt-verifier.js';
import { logger } from '../runtime/logger.js';

// The management API's REST REQUEST authorizer: `Authorization: Bearer <jwt>` → a verified caller.
//
// Outcomes (API Gateway developer guide, "Use API Gateway Lambda authorizers"):
//   - valid JWT → an Allow policy on `<api>/<stage>/*/*` plus the CallerContext. The route handlers
//     check roles themselves, so the one policy is right for every route: cache-safe with the
//     Authorization header as the only identity source.
//   - missing, malformed, expired, wrong issuer/audience/signature, missing or unknown role → throw
//     exactly `Unauthorized` → 401.
//   - a valid JWT of a user whose access an admin switched off, or issued before the latest switch
//     (lambdas/core/user-access-service.ts, managementRefusal) → 401: one strongly consistent GetItem
//     of the user's access item per uncached call; API Gateway's result cache (60 s) bounds how long
//     a removed or demoted admin keeps access after the switch.
//   - the JWKS cannot be fetched, the access item cannot be read or the verifier is misconfigured →
//     a generic error → 500, which API Gateway does not cache (a cached 401 would lock a valid caller
//     out for the TTL).
// The JWT is never logged.

const verifier = JwtIdentityVerifier.fromConfig(jwtVerifierConfigFromEnv());
// Only `get` is used here (no audit event is written): the retention does not matter.
const userAccess = new DynamoUserAccessRepository(sharedDocumentClient(), requireEnv(ENV.tableName));

export const VERIFIER_UNAVAILABLE_MESSAGE = 'Identity verification unavailable';

export interface JwtAuthorizerEvent {
  readonly type?: string;
  readonly methodArn?: string;
  readonly authorizationToken?: string;
  readonly headers?: Readonly<Record<string, string | null | undefined>> | null;
}

export type JwtAuthorizerResult = APIGatewayAuthorizerResult & { context: CallerContext };

function callerContext(identity: VerifiedIdentity): CallerContext {
  return {
    userId: identity.userId,
    accountId: identity.accountId,
    role: identity.role,
    email: identity.email ?? '',
  };
}

export async function authorizeCaller(event: JwtAuthorizerEvent): Promise<JwtAuthorizerResult> {
  const startedAt = performance.now();
  const latencyMs = () => Math.round((performance.now() - startedAt) * 1000) / 1000;
  const rest = readRestAuthorizerEvent(event);
  if (rest === undefined) {
    logger.error('jwt authorizer decision', { reason: 'DEPENDENCY_FAILURE', errorName: 'UnrecognizedEvent' });
    throw new Error(VERIFIER_UNAVAILABLE_MESSAGE);
  }
  const jwt = bearerCredentials(rest.authorization);
  if (jwt === undefined) {
    logger.warn('jwt authorizer decision', { reason: 'MALFORMED', latencyMs: latencyMs() });
    throw unauthorized();
  }
  let identity: VerifiedIdentity;
  try {
    identity = await verifier.verify(jwt);
  } catch (error) {
    const errorName =
      error instanceof InvalidJwtError ? error.reason : error instanceof Error ? error.name : typeof error;
    if (error instanceof UnauthorizedError) {
      logger.warn('jwt authorizer decision', { reason: 'INVALID', errorName, latencyMs: latencyMs() });
      throw unauthorized();
    }
    logger.error('jwt authorizer decision', {
      reason: 'DEPENDENCY_FAILURE',
      errorName,
      latencyMs: latencyMs(),
    });
    throw new Error(VERIFIER_UNAVAILABLE_MESSAGE);
  }
  let refusal: ReturnType<typeof managementRefusal>;
  try {
    refusal = managementRefusal(await userAccess.get(identity.accountId, identity.userId), identity.issuedAt);
  } catch (error) {
    logger.error('jwt authorizer decision', {
      reason: 'DEPENDENCY_FAILURE',
      errorName: error instanceof Error ? error.name : typeof error,
      latencyMs: latencyMs(),
    });
    throw new Error(VERIFIER_UNAVAILABLE_MESSAGE);
  }
  if (refusal !== undefined) {
    logger.warn('jwt authorizer decision', {
      reason: refusal,
      userId: identity.userId,
      accountId: identity.accountId,
      latencyMs: latencyMs(),
    });
    throw unauthorized();
  }
  logger.info('jwt authorizer decision', {
    reason: 'VALID',
    userId: identity.userId,
    accountId: identity.accountId,
    role: identity.role,
    latencyMs: latencyMs(),
  });
  return {
    principalId: identity.userId,
    policyDocument: allowStagePolicy(rest.methodArn.apiStageArn),
    context: callerContext(identity),
  };
}

export const handler = middy<JwtAuthorizerEvent, JwtAuthorizerResult>()
  .use(injectLambdaContext(logger, { logEvent: false }))
  .handler(authorizeCaller);
