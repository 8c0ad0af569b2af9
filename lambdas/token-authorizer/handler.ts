import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { DynamoCredentialReader } from '../adapters/dynamo-credential-reader.js';
import { DynamoLastUsedRecorder } from '../adapters/dynamo-last-used-recorder.js';
import {
  type Decision,
  type DecisionLogReason,
  decide,
  isUnauthenticated,
  malformedDecision,
  presentedToken,
} from '../core/authorization.js';
import { normalizeBasePath, type PathIssue } from '../core/gateway-scope.js';
import { hashToken } from '../core/hashing.js';
import { LastUsedThrottle } from '../core/last-used-throttle.js';
import type { CredentialRecord } from '../core/model.js';
import { InvalidRouteScopesError } from '../core/route-scopes.js';
import { hintOf } from '../core/token-format.js';
import { VerificationCache } from '../core/verification-cache.js';
import { authorizerCacheTtlSeconds, authorizerSettingsFromEnv } from '../runtime/authorizer-settings.js';
import { sharedDocumentClient } from '../runtime/clients.js';
import { ENV, optionalEnv, requireEnv } from '../runtime/env.js';
import { keySourceFromEnv } from '../runtime/key-source.js';
import { logger } from '../runtime/logger.js';
import {
  type AuthorizerDefaults,
  type AuthorizerRequest,
  httpResponse,
  readAuthorizerEvent,
  restRefusal,
  restResponse,
  type TokenAuthorizerEvent,
  type TokenAuthorizerResult,
  UnkeyedRouteMapError,
} from './gateway.js';
import { type LastUsedTracking, recordUseInBackground } from './last-used.js';

// The token authorizer: REST API REQUEST (and TOKEN) authorizers and HTTP API simple-response
// authorizers, from one handler (DESIGN.md "Token authorizer contract"; what each outcome becomes at
// each gateway: gateway.ts). Per request: no I/O for a malformed token; otherwise one HMAC and exactly
// one consistent GetItem. The HMAC key is decrypted once per container. After a VALID decision, the
// token's lastUsedAt is recorded in the background (last-used.ts), at most once per token per
// `lastUsedIntervalSeconds` per container, and never awaited.
//
// Dependency failures (KMS, DynamoDB, a damaged item, anything unexpected) fail closed: a generic
// error, which API Gateway answers with a 500 and does not cache. Never an Allow, and never a Deny
// or a 401, which the gateway could cache and so lock a valid token out for the whole TTL after a blip.

// Only the fields the authorizer uses, checked without zod (runtime/authorizer-settings.ts).
const settings = authorizerSettingsFromEnv();
const tokenPrefix = settings.tokenPrefix;
// The default route map stays a string here and is decoded per request (memoized): a broken one
// then fails each request closed with a logged INVALID_ROUTE_SCOPES, instead of failing the init
// phase with an error that says nothing about which API setting is wrong.
const defaults: AuthorizerDefaults = {
  basePath: normalizeBasePath(optionalEnv(ENV.authorizerBasePath)),
  routeScopesJson: optionalEnv(ENV.authorizerRouteScopes),
};
const keySource = keySourceFromEnv();
// Keyed by the secret's HMAC. The TTL counts inside the revocation window (the stack gives API
// Gateway's cache only what is left of it), so a revoked token still passes for at most the window.
const verificationCache = new VerificationCache<CredentialRecord>({
  ttlMs: authorizerCacheTtlSeconds(settings) * 1000,
  negativeTtlMs: Math.min(settings.verificationCacheNegativeSeconds, settings.revocationWindowSeconds) * 1000,
  maxEntries: settings.verificationCacheMaxEntries,
});
const tableName = requireEnv(ENV.tableName);
const reader = new DynamoCredentialReader(sharedDocumentClient(), tableName);

/** Distinct tokens one container remembers attempts for; more only means an extra conditional write. */
const LAST_USED_MAX_TOKENS = 10_000;
const lastUsedIntervalMs = settings.lastUsedIntervalSeconds * 1000;
const lastUsed: LastUsedTracking = {
  recorder: new DynamoLastUsedRecorder(sharedDocumentClient(), tableName),
  throttle: new LastUsedThrottle({ intervalMs: lastUsedIntervalMs, maxEntries: LAST_USED_MAX_TOKENS }),
  intervalMs: lastUsedIntervalMs,
  onFailure: (tokenId, error) =>
    // The error's name only: an SDK error message can quote the request, keys included.
    logger.warn('lastUsedAt not recorded', {
      tokenId,
      errorName: error instanceof Error ? error.name : typeof error,
    }),
};

// Start decrypting the HMAC key during the init phase, so the first request does not wait for it.
// A failure is not kept (KmsKeySource forgets it); the first request tries again and fails closed.
keySource.getKey().catch(() => undefined);

/** The only error a dependency failure surfaces: it says nothing about the cause. */
export const DEPENDENCY_FAILURE_MESSAGE = 'Authorizer dependency failure';

/**
 * The decision reasons, plus the gateway's own: a refused path (403) and a route map whose cache
 * key does not name the route (500), see gateway.ts.
 */
type LogReason = DecisionLogReason | 'NON_CANONICAL_PATH' | 'UNKEYED_ROUTE_MAP';

interface LogFields {
  readonly reason: LogReason;
  readonly gateway: AuthorizerRequest['gateway'] | undefined;
  readonly method: string | undefined;
  readonly area: string | undefined;
  readonly tokenId?: string;
  readonly userId?: string;
  /** Only for a well-formed token that is not ours: prefix and last four characters. */
  readonly hint?: string;
  readonly requiredScope?: string;
  /** For NON_CANONICAL_PATH: what is wrong with the path (never the path itself). */
  readonly pathIssue?: PathIssue;
  readonly errorName?: string;
  readonly latencyMs: number;
}

const elapsed = (startedAt: number) => Math.round((performance.now() - startedAt) * 1000) / 1000;

/** Filled in key order: latencyMs is set last, so it stays the last field of the line. */
type LogFieldsBuilder = { -readonly [K in keyof LogFields]?: LogFields[K] };

/**
 * Exactly one line per invocation. Never the token, the Authorization header or the hash.
 * Hot path (every cache hit logs): one object, built in the final key order and handed to the
 * logger as is, with no intermediate objects or spreads.
 */
function logDecision(
  request: AuthorizerRequest,
  decision: Decision,
  token: string | undefined,
  startedAt: number,
  pathIssue: PathIssue | undefined,
): void {
  const fields: LogFieldsBuilder = {
    reason: pathIssue === undefined ? decision.reason : 'NON_CANONICAL_PATH',
    gateway: request.gateway,
    method: request.method,
    area: decision.area,
  };
  if (decision.credential !== undefined) {
    fields.tokenId = decision.credential.tokenId;
    fields.userId = decision.credential.userId;
  } else if (token !== undefined) {
    fields.hint = hintOf(token, tokenPrefix);
  }
  if (decision.reason === 'INSUFFICIENT_SCOPE' && decision.requiredScope !== undefined) {
    fields.requiredScope = decision.requiredScope;
  }
  if (pathIssue !== undefined) fields.pathIssue = pathIssue;
  fields.latencyMs = elapsed(startedAt);
  if (fields.reason === 'VALID') logger.info('token authorizer decision', fields);
  else logger.warn('token authorizer decision', fields);
}

function logFailure(
  request: AuthorizerRequest | undefined,
  token: string | undefined,
  error: unknown,
  startedAt: number,
): void {
  const fields: LogFields = {
    // Never the map or the error's message: only that the API's route map is what is broken.
    reason:
      error instanceof InvalidRouteScopesError
        ? 'INVALID_ROUTE_SCOPES'
        : error instanceof UnkeyedRouteMapError
          ? 'UNKEYED_ROUTE_MAP'
          : 'DEPENDENCY_FAILURE',
    gateway: request?.gateway,
    method: request?.method,
    area: undefined,
    ...(token === undefined ? {} : { hint: hintOf(token, tokenPrefix) }),
    errorName: error instanceof Error ? error.name : typeof error,
    latencyMs: elapsed(startedAt),
  };
  logger.error('token authorizer decision', { ...fields });
}

async function decideRequest(request: AuthorizerRequest, token: string): Promise<Decision> {
  const key = await keySource.getKey();
  const secretHash = hashToken(key, token);
  const nowMs = Date.now();
  const cached = verificationCache.lookup(secretHash, nowMs);
  if (cached.hit) return decide(cached.value, nowMs, request);
  const credential = await reader.findByHash(secretHash);
  verificationCache.store(secretHash, credential, nowMs);
  return decide(credential, nowMs, request);
}

export async function authorizeEvent(event: TokenAuthorizerEvent): Promise<TokenAuthorizerResult> {
  const startedAt = performance.now();
  let request: AuthorizerRequest | undefined;
  let token: string | undefined;
  let decision: Decision;
  try {
    request = readAuthorizerEvent(event, defaults);
    token = presentedToken(request.authorization, tokenPrefix);
    decision = token === undefined ? malformedDecision(request) : await decideRequest(request, token);
  } catch (error) {
    logFailure(request, token, error, startedAt);
    throw new Error(DEPENDENCY_FAILURE_MESSAGE);
  }
  // A refused path overrides only what a token could have been allowed: a bad token stays a 401
  // (REST), an address outside the allowlist stays a Deny.
  const pathIssue =
    request.pathIssue !== undefined &&
    !isUnauthenticated(decision.reason) &&
    decision.reason !== 'IP_NOT_ALLOWED'
      ? request.pathIssue
      : undefined;
  logDecision(request, decision, token, startedAt, pathIssue);
  if (pathIssue !== undefined) {
    return request.gateway === 'rest'
      ? restRefusal(decision, request.methodArn, request.basePath)
      : { isAuthorized: false };
  }
  if (decision.reason === 'VALID' && decision.credential !== undefined) {
    recordUseInBackground(lastUsed, decision.credential.tokenId, Date.now());
  }
  return request.gateway === 'rest'
    ? restResponse(decision, request.methodArn, request.basePath)
    : httpResponse(decision);
}

export const handler = middy<TokenAuthorizerEvent, TokenAuthorizerResult>()
  .use(injectLambdaContext(logger, { logEvent: false }))
  .handler(authorizeEvent);
