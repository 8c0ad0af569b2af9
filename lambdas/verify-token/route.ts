import type { VerifyRequest, VerifyResult } from '../contract/verify-schemas.js';
import type { Decision, DecisionLogReason, GatewayRequest } from '../core/authorization.js';
import { DECISION_MESSAGE, type DecisionFields, latencyMsSince } from '../core/decision-line.js';
import { type LastUsedTracking, recordUseInBackground } from '../core/last-used.js';
import { LastUsedThrottle } from '../core/last-used-throttle.js';
import type { CredentialRecord } from '../core/model.js';
import { hintOf, isWellFormedToken } from '../core/token-format.js';
import { VerificationCache, verificationCacheOptionsOf } from '../core/verification-cache.js';
import { type VerifyTokenDeps, verifyToken } from '../core/verify-token.js';
import type { ManagementDeps } from '../http/management-deps.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';
import { logger } from '../runtime/logger.js';

// POST /verify (docs/verify.md): the token authorizer's decision for services that cannot attach a
// Lambda authorizer (behind an ALB, on ECS, in another cloud). IAM-authenticated (the route's auth
// is `iam`: API Gateway checks the caller's SigV4 signature and execute-api:Invoke).
//
// The same decision as the authorizer, not a second code path: core/verify-token.ts (no I/O for a
// malformed token; otherwise one HMAC and one consistent GetItem unless the in-process verification
// cache answers) and core/authorization.ts (the same reasons, in the same order). What differs is
// only where the request comes from: the body names the method and path (the area rule, with no base
// path), or the scope itself (as a route→scope map would), or neither (no scope is checked). One
// decision line per call in the authorizer's shape (message, field names and order, `gateway`
// `verify`); lastUsedAt recorded in the background after a VALID decision, throttled like the
// authorizer's. The response carries the decision and the owner, never the token, its hash or a key.

/** Distinct tokens one container remembers lastUsedAt attempts for (as the authorizer). */
const LAST_USED_MAX_TOKENS = 10_000;

type VerifyDeps = Pick<ManagementDeps, 'hmacKey' | 'credentials' | 'lastUsed' | 'settings' | 'clock'>;

/** The authorizer's decision line (core/decision-line.ts), with `gateway` `verify`. */
type VerifyDecisionFields = DecisionFields<DecisionLogReason, 'verify'>;

/** The request the decision judges: the body's, with no base path (paths are the service's own). */
function gatewayRequestOf(body: VerifyRequest): GatewayRequest {
  return {
    method: body.method ?? 'POST',
    path: body.path ?? '/',
    basePath: '',
    sourceIp: body.sourceIp,
    ...(body.requiredScope !== undefined
      ? { requirement: { kind: 'scope', scope: body.requiredScope } }
      : body.path === undefined
        ? { requirement: { kind: 'none' } }
        : {}),
  };
}

/** The response: the decision and, for a token of ours, its owner and scopes. Nothing secret. */
function verifyResultOf(decision: Decision): VerifyResult {
  const credential: CredentialRecord | undefined = decision.credential;
  if (credential === undefined) return { valid: false, reason: decision.reason };
  return {
    valid: decision.reason === 'VALID',
    reason: decision.reason,
    tokenId: credential.tokenId,
    userId: credential.userId,
    accountId: credential.accountId,
    scopes: [...credential.scopes],
    type: credential.type,
  };
}

export function verifyTokenRoute(deps: VerifyDeps): RouteHandler {
  const { settings } = deps;
  const tokenPrefix = settings.tokenPrefix;
  const verify: VerifyTokenDeps = {
    keySource: deps.hmacKey,
    credentials: deps.credentials,
    // No gateway cache sits on top of this one, so it may keep what it read for the whole TTL the
    // authorizer's in-process cache has (never longer than the revocation window).
    cache: new VerificationCache<CredentialRecord>(verificationCacheOptionsOf(settings)),
    clock: deps.clock,
    tokenPrefix,
  };
  const intervalMs = settings.lastUsedIntervalSeconds * 1000;
  const tracking: LastUsedTracking = {
    recorder: deps.lastUsed,
    throttle: new LastUsedThrottle({ intervalMs, maxEntries: LAST_USED_MAX_TOKENS }),
    intervalMs,
    // The error's name only: an SDK error message can quote the request, keys included.
    onFailure: (tokenId, error) =>
      logger.warn('lastUsedAt not recorded', {
        tokenId,
        errorName: error instanceof Error ? error.name : typeof error,
      }),
  };

  function logDecision(body: VerifyRequest, decision: Decision, startedAt: number): void {
    const fields: VerifyDecisionFields = {
      reason: decision.reason,
      gateway: 'verify',
      method: body.method,
      area: decision.area,
    };
    if (decision.credential !== undefined) {
      fields.tokenId = decision.credential.tokenId;
      fields.userId = decision.credential.userId;
    } else if (decision.reason !== 'MALFORMED') {
      fields.hint = hintOf(body.token, tokenPrefix);
    }
    if (decision.reason === 'INSUFFICIENT_SCOPE' && decision.requiredScope !== undefined) {
      fields.requiredScope = decision.requiredScope;
    }
    fields.latencyMs = latencyMsSince(startedAt);
    if (decision.reason === 'VALID') logger.info(DECISION_MESSAGE, fields);
    else logger.warn(DECISION_MESSAGE, fields);
  }

  function logFailure(body: VerifyRequest, error: unknown, startedAt: number): void {
    const fields: VerifyDecisionFields = {
      reason: 'DEPENDENCY_FAILURE',
      gateway: 'verify',
      method: body.method,
      area: undefined,
    };
    if (isWellFormedToken(body.token, tokenPrefix)) fields.hint = hintOf(body.token, tokenPrefix);
    fields.errorName = error instanceof Error ? error.name : typeof error;
    fields.latencyMs = latencyMsSince(startedAt);
    logger.error(DECISION_MESSAGE, fields);
  }

  return routeHandler('verifyToken', async ({ body }) => {
    const startedAt = performance.now();
    let decision: Decision;
    try {
      decision = await verifyToken(verify, gatewayRequestOf(body), body.token);
    } catch (error) {
      // Fails closed: a 500 that says nothing (the error mapper), never a decision.
      logFailure(body, error, startedAt);
      throw error;
    }
    logDecision(body, decision, startedAt);
    if (decision.reason === 'VALID' && decision.credential !== undefined) {
      recordUseInBackground(tracking, decision.credential.tokenId, Date.now());
    }
    return { statusCode: 200, body: verifyResultOf(decision) };
  });
}
