import { bearerCredentials } from './bearer.js';
import { areaOf, type MappedRoute, type RouteContext, requiredScopeFor } from './gateway-scope.js';
import { ipAllowlistFor } from './ip-allowlist.js';
import type { CredentialRecord } from './model.js';
import { SCOPE_PATTERN } from './scope-patterns.js';
import { isWellFormedToken } from './token-format.js';

// The token authorizer's decision (docs/design.md "Token authorizer contract"), pure and in two steps
// around the one read the caller makes:
//   1. presentedToken: `Bearer <token>` and the token's format and checksum, with no I/O.
//      Anything that fails here is MALFORMED and never reaches the key source or DynamoDB.
//   2. [the caller hashes the token and reads the credential by its HMAC]
//   3. decide: NOT_FOUND, REVOKED, EXPIRED (past expiresAt, whatever TTL has not yet deleted, or
//      past notAfter: a secret rotated out), DISABLED (an admin switched off the owner's token
//      access), IP_NOT_ALLOWED, INSUFFICIENT_SCOPE, else VALID. The "no valid credential" reasons
//      come first, so a disabled owner's token from a foreign address is a 401, not a 403 that would
//      tell the caller the token itself still exists and is good.
// The scope a request needs comes from the API's route→scope map when its matched route is mapped,
// else from the area rule (gateway-scope.ts). The verify API (lambdas/verify-token, docs/verify.md)
// runs this same decision; its caller may name the scope itself, or ask for none.

export const AUTHORIZATION_REASONS = [
  'VALID',
  'MALFORMED',
  'NOT_FOUND',
  'EXPIRED',
  'REVOKED',
  'DISABLED',
  'IP_NOT_ALLOWED',
  'INSUFFICIENT_SCOPE',
] as const;
export type AuthorizationReason = (typeof AUTHORIZATION_REASONS)[number];

/** Reasons that mean "no valid credential": 401 where the gateway can say so. */
type UnauthenticatedReason = 'MALFORMED' | 'NOT_FOUND' | 'EXPIRED' | 'REVOKED' | 'DISABLED';
/**
 * What the authorizer logs: a decision's reason, or why no decision was made and the request fails
 * closed with a 500: INVALID_ROUTE_SCOPES when the API's route→scope map is broken (a deployment
 * error that must be seen, not guessed around), DEPENDENCY_FAILURE when KMS, DynamoDB or anything
 * else failed.
 */
export type DecisionLogReason = AuthorizationReason | 'INVALID_ROUTE_SCOPES' | 'DEPENDENCY_FAILURE';

type OutcomeClass = 'allow' | 'unauthenticated' | 'forbidden';

const OUTCOME_BY_REASON: Readonly<Record<AuthorizationReason, OutcomeClass>> = {
  VALID: 'allow',
  MALFORMED: 'unauthenticated',
  NOT_FOUND: 'unauthenticated',
  EXPIRED: 'unauthenticated',
  REVOKED: 'unauthenticated',
  DISABLED: 'unauthenticated',
  IP_NOT_ALLOWED: 'forbidden',
  INSUFFICIENT_SCOPE: 'forbidden',
};

export function outcomeOf(reason: AuthorizationReason): OutcomeClass {
  return OUTCOME_BY_REASON[reason];
}

export function isUnauthenticated(reason: AuthorizationReason): reason is UnauthenticatedReason {
  return OUTCOME_BY_REASON[reason] === 'unauthenticated';
}

/**
 * What the verify API's caller asks for instead of the gateway's rules (docs/verify.md): a scope,
 * which wins over the route map and the area rule as a mapped route's scope does, or none (no scope
 * is checked; every other check still is). Gateways never set it.
 */
export type ScopeRequirement = { readonly kind: 'scope'; readonly scope: string } | { readonly kind: 'none' };

/** The request as the gateway describes it. `basePath` is normalized (gateway-scope.ts). */
export interface GatewayRequest {
  readonly method: string;
  readonly path: string;
  readonly basePath: string;
  readonly sourceIp: string | undefined;
  /** The matched route and the API's route→scope map; absent = the area rule only. */
  readonly route?: RouteContext;
  /** The verify API's explicit requirement; absent = the route map and the area rule. */
  readonly requirement?: ScopeRequirement;
}

export interface Decision {
  readonly reason: AuthorizationReason;
  /** The credential read, when there was one (every reason but MALFORMED and NOT_FOUND). */
  readonly credential: CredentialRecord | undefined;
  /** The area the request addresses, when its path names one. */
  readonly area: string | undefined;
  /** The scope the request needs, when any scope could allow it. */
  readonly requiredScope: string | undefined;
  /** Set when the required scope came from the route→scope map (REST builds its policy from it). */
  readonly route: MappedRoute | undefined;
}

/**
 * Step 1: the token in a `Bearer` Authorization header value, when its shape, prefix and checksum
 * are right; undefined means MALFORMED. Costs no I/O.
 */
export function presentedToken(authorization: string | undefined, prefix: string): string | undefined {
  const credentials = bearerCredentials(authorization);
  return credentials !== undefined && isWellFormedToken(credentials, prefix) ? credentials : undefined;
}

function requiredScopeOf(request: GatewayRequest): {
  readonly area: string | undefined;
  readonly scope: string | undefined;
  readonly route?: MappedRoute;
} {
  const requirement = request.requirement;
  if (requirement === undefined) {
    return requiredScopeFor(request.method, request.path, request.basePath, request.route);
  }
  if (requirement.kind === 'none') return { area: areaOf(request.path, request.basePath), scope: undefined };
  // Re-checked like a route map's value: a string that is not a scope needs one no token holds.
  const parsed = SCOPE_PATTERN.exec(requirement.scope);
  return { area: parsed?.[1], scope: parsed === null ? undefined : requirement.scope };
}

export function malformedDecision(request: GatewayRequest): Decision {
  const required = requiredScopeOf(request);
  return {
    reason: 'MALFORMED',
    credential: undefined,
    area: required.area,
    requiredScope: required.scope,
    route: required.route,
  };
}

/** Step 3: the decision for a well-formed token, given what the read found. */
export function decide(
  credential: CredentialRecord | undefined,
  nowMs: number,
  request: GatewayRequest,
): Decision {
  const required = requiredScopeOf(request);
  return {
    reason: reasonFor(credential, nowMs, request, required.scope),
    credential,
    area: required.area,
    requiredScope: required.scope,
    route: required.route,
  };
}

function reasonFor(
  credential: CredentialRecord | undefined,
  nowMs: number,
  request: GatewayRequest,
  requiredScope: string | undefined,
): AuthorizationReason {
  if (credential === undefined) return 'NOT_FOUND';
  if (credential.state === 'revoked') return 'REVOKED';
  // Checked here, not left to TTL: DynamoDB deletes expired items only "within a few days".
  if (credential.expiresAtMs !== null && credential.expiresAtMs <= nowMs) return 'EXPIRED';
  if (credential.notAfterMs !== null && credential.notAfterMs <= nowMs) return 'EXPIRED';
  // `!== false` rather than truthiness: a damaged record without the flag fails closed.
  if (credential.disabled !== false) return 'DISABLED';
  if (!ipAllowlistFor(credential.allowedIps).allows(request.sourceIp)) return 'IP_NOT_ALLOWED';
  if (request.requirement?.kind === 'none') return 'VALID';
  if (requiredScope === undefined || !credential.scopes.includes(requiredScope)) return 'INSUFFICIENT_SCOPE';
  return 'VALID';
}

interface AuthorizationInput extends GatewayRequest {
  readonly authorization: string | undefined;
  readonly credential: CredentialRecord | undefined;
  readonly nowMs: number;
  readonly tokenPrefix: string;
}

/** Steps 1 and 3 at once, for a caller that already holds the credential (tests, tools). */
export function authorize(input: AuthorizationInput): Decision {
  if (presentedToken(input.authorization, input.tokenPrefix) === undefined) return malformedDecision(input);
  return decide(input.credential, input.nowMs, input);
}

/**
 * What a valid token puts in `requestContext.authorizer` (REST) or `requestContext.authorizer.lambda`
 * (HTTP API): strings only, as API Gateway requires. `scopes` is space-separated.
 */
export type TokenAuthorizerContext = {
  tokenId: string;
  userId: string;
  accountId: string;
  scopes: string;
  type: string;
};

export function tokenAuthorizerContext(credential: CredentialRecord): TokenAuthorizerContext {
  return {
    tokenId: credential.tokenId,
    userId: credential.userId,
    accountId: credential.accountId,
    scopes: credential.scopes.join(' '),
    type: credential.type,
  };
}
