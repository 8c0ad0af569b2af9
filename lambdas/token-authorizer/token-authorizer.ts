import type { Context } from 'aws-lambda';
import { type Decision, type DecisionLogReason, isUnauthenticated } from '../core/authorization.js';
import { bearerCredentials } from '../core/bearer.js';
import { DECISION_MESSAGE, type DecisionFields, latencyMsSince } from '../core/decision-line.js';
import type { PathIssue } from '../core/gateway-scope.js';
import { type LastUsedTracking, recordUseInBackground } from '../core/last-used.js';
import type { CredentialRecord } from '../core/model.js';
import { InvalidRouteScopesError } from '../core/route-scopes.js';
import { hintOf, isWellFormedToken } from '../core/token-format.js';
import { millisOf, startVerification, type VerifyTokenDeps } from '../core/verify-token.js';
import { fieldOf, type InvocationLog, type JsonLineLogger } from '../runtime/json-line-logger.js';
import {
  type AuthorizerDefaults,
  type AuthorizerRequest,
  httpResponse,
  readAuthorizerEvent,
  restRefusal,
  type TokenAuthorizerEvent,
  type TokenAuthorizerResult,
  UnkeyedRouteMapError,
} from './gateway.js';
import { restResponseFor } from './rest-responses.js';
import { createStrictLimits, type StrictLimitsConfig } from './strict-limits.js';

// The token authorizer: REST API REQUEST (and TOKEN) authorizers and HTTP API simple-response
// authorizers, from one function (docs/design.md "Token authorizer contract"; what each outcome becomes at
// each gateway: gateway.ts). Per invocation: read the event, verify the token (the core use case,
// core/verify-token.ts: no I/O for a malformed token, otherwise one HMAC and one consistent GetItem
// unless the in-process cache answers), log the decision in exactly one line, answer in the
// gateway's dialect. After a VALID decision the token's lastUsedAt is recorded in the background
// (core/last-used.ts), never awaited.
//
// Dependency failures (KMS, DynamoDB, a damaged item, anything unexpected) fail closed: a generic
// error, which API Gateway answers with a 500 and does not cache. Never an Allow, and never a Deny
// or a 401, which the gateway could cache and so lock a valid token out for the whole TTL after a blip.

/** The only error a dependency failure surfaces: it says nothing about the cause. */
const DEPENDENCY_FAILURE_MESSAGE = 'Authorizer dependency failure';

/** A decision line's fields, each `,"name":` rendered once (runtime/json-line-logger.ts, fieldOf). */
const FIELD = {
  reason: fieldOf('reason'),
  gateway: fieldOf('gateway'),
  method: fieldOf('method'),
  area: fieldOf('area'),
  tokenId: fieldOf('tokenId'),
  userId: fieldOf('userId'),
  hint: fieldOf('hint'),
  requiredScope: fieldOf('requiredScope'),
  pathIssue: fieldOf('pathIssue'),
  latencyMs: fieldOf('latencyMs'),
} as const;

interface TokenAuthorizerDeps {
  readonly verify: VerifyTokenDeps;
  /** What applies when the API's stage says nothing: the function's env. */
  readonly defaults: AuthorizerDefaults;
  readonly logger: JsonLineLogger;
  /** lastUsedAt recording; its failures are logged here. */
  readonly lastUsed: Omit<LastUsedTracking, 'onFailure'>;
  /** The strict mode of HTTP APIs (strict-limits.ts); absent: no API is counted. */
  readonly strictLimits?: StrictLimitsConfig;
}

type TokenAuthorizer = (event: TokenAuthorizerEvent, context?: Context) => Promise<TokenAuthorizerResult>;

/**
 * The decision reasons, plus the gateway's own: a refused path (403) and a route map whose cache
 * key does not name the route (500), see gateway.ts; and a strict HTTP API's refusal of a valid
 * token over its limits (403, strict-limits.ts).
 */
type LogReason =
  | DecisionLogReason
  | 'NON_CANONICAL_PATH'
  | 'UNKEYED_ROUTE_MAP'
  | 'RATE_LIMITED'
  | 'QUOTA_EXCEEDED';

/** The decision line (core/decision-line.ts) with the gateway's own reasons. */
type AuthorizerDecisionFields = DecisionFields<LogReason, AuthorizerRequest['gateway']>;

/**
 * The decision line's reason, gateway, method and area, rendered once while they repeat: a busy
 * API sends the same request to the same route again and again, and quoting each value on every
 * line was a visible share of a cache hit (docs/performance.md). One entry, compared by value.
 */
const lastRequestFields = {
  reason: '',
  gateway: '',
  method: '',
  area: '' as string | undefined,
  rendered: '',
};

function requestFields(reason: LogReason, gateway: string, method: string, area: string | undefined): string {
  const last = lastRequestFields;
  if (last.reason !== reason || last.gateway !== gateway || last.method !== method || last.area !== area) {
    last.reason = reason;
    last.gateway = gateway;
    last.method = method;
    last.area = area;
    last.rendered = FIELD.reason(reason) + FIELD.gateway(gateway) + FIELD.method(method) + FIELD.area(area);
  }
  return last.rendered;
}

/**
 * The decision line's tokenId and userId, rendered once per credential object: the verification
 * cache hands out the same object on every hit, and a new read brings a new one (so a changed
 * record is rendered anew); an object the cache drops takes its rendering with it.
 */
const renderedCredentials = new WeakMap<CredentialRecord, string>();

function credentialFields(credential: CredentialRecord): string {
  let rendered = renderedCredentials.get(credential);
  if (rendered === undefined) {
    rendered = FIELD.tokenId(credential.tokenId) + FIELD.userId(credential.userId);
    renderedCredentials.set(credential, rendered);
  }
  return rendered;
}

export function createTokenAuthorizer(deps: TokenAuthorizerDeps): TokenAuthorizer {
  const { logger, defaults, lastUsed } = deps;
  const tokenPrefix = deps.verify.tokenPrefix;

  function logDecision(
    log: InvocationLog,
    request: AuthorizerRequest,
    decision: Decision,
    token: string | undefined,
    startedAt: number,
    pathIssue: PathIssue | undefined,
    limited: 'RATE_LIMITED' | 'QUOTA_EXCEEDED' | undefined,
  ): void {
    const valid = decision.reason === 'VALID' && pathIssue === undefined && limited === undefined;
    if (!logger.enabled(log, valid ? 'INFO' : 'WARN')) return;
    // The fields of AuthorizerDecisionFields, rendered in its order straight into the line (writeRendered):
    // on a cache hit, building an object and walking its keys was a visible share of the whole
    // verification (docs/performance.md). The same line as logger.info(…, fields) would write;
    // test/unit/authorizer/decision-log.test.ts checks the lines.
    let rendered = requestFields(
      pathIssue === undefined ? (limited ?? decision.reason) : 'NON_CANONICAL_PATH',
      request.gateway,
      request.method,
      decision.area,
    );
    if (decision.credential !== undefined) {
      rendered += credentialFields(decision.credential);
    } else if (token !== undefined && decision.reason !== 'MALFORMED') {
      rendered += FIELD.hint(hintOf(token, tokenPrefix));
    }
    if (decision.reason === 'INSUFFICIENT_SCOPE' && decision.requiredScope !== undefined) {
      rendered += FIELD.requiredScope(decision.requiredScope);
    }
    if (pathIssue !== undefined) rendered += FIELD.pathIssue(pathIssue);
    rendered += FIELD.latencyMs(latencyMsSince(startedAt));
    logger.writeRendered(log, valid ? 'INFO' : 'WARN', DECISION_MESSAGE, rendered);
  }

  function logFailure(
    log: InvocationLog,
    request: AuthorizerRequest | undefined,
    token: string | undefined,
    error: unknown,
    startedAt: number,
  ): void {
    const fields: AuthorizerDecisionFields = {
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
    };
    if (token !== undefined && isWellFormedToken(token, tokenPrefix))
      fields.hint = hintOf(token, tokenPrefix);
    fields.errorName = error instanceof Error ? error.name : typeof error;
    fields.latencyMs = latencyMsSince(startedAt);
    logger.error(log, DECISION_MESSAGE, fields);
  }

  // The invocation the last line belongs to: a lastUsedAt failure is reported in the background,
  // with the context of whichever invocation has started its log then (as Powertools' logger would;
  // an uncached one starts it while its read is in flight, below).
  let current = logger.invocation(undefined);
  const strict =
    deps.strictLimits === undefined
      ? undefined
      : createStrictLimits(deps.strictLimits, (tokenId, error) =>
          // Counting goes on in-process (fail-open, bounded: core/rate-window.ts); the name only.
          logger.warn(current, 'rate counter not flushed', {
            tokenId,
            errorName: error instanceof Error ? error.name : typeof error,
          }),
        );
  const tracking: LastUsedTracking = {
    ...lastUsed,
    onFailure: (tokenId, error) =>
      // The error's name only: an SDK error message can quote the request, keys included.
      logger.warn(current, 'lastUsedAt not recorded', {
        tokenId,
        errorName: error instanceof Error ? error.name : typeof error,
      }),
  };

  /** Starts the invocation's log (its context fields, trace id and level): once per invocation. */
  const startInvocationLog = (context: Context | undefined): InvocationLog => {
    current = logger.invocation(context);
    return current;
  };

  /**
   * The invocation's log, started while its read is in flight: setImmediate runs after the promise
   * jobs that send the request, so this work overlaps the wait instead of delaying the read (about
   * 15 µs of an uncached verification, docs/performance.md round 7). Taken with `early.log ??=`, so
   * that a read answering first (or failing at once) starts it then, and the scheduled call does
   * nothing.
   */
  const startInvocationLogWhileWaiting = (context: Context | undefined): { log?: InvocationLog } => {
    const early: { log?: InvocationLog } = {};
    setImmediate(() => {
      early.log ??= startInvocationLog(context);
    });
    return early;
  };

  /** The invocation's log: the one started while waiting, else started now. */
  const invocationLogOf = (
    early: { log?: InvocationLog } | undefined,
    context: Context | undefined,
  ): InvocationLog => {
    if (early === undefined) return startInvocationLog(context);
    early.log ??= startInvocationLog(context);
    return early.log;
  };

  return async (event, context) => {
    const startedAt = performance.now();
    let early: { log?: InvocationLog } | undefined;
    let request: AuthorizerRequest | undefined;
    let token: string | undefined;
    let decision: Decision;
    try {
      request = readAuthorizerEvent(event, defaults);
      token = bearerCredentials(request.authorization);
      // A cache hit is decided without an await (core/verify-token.ts, startVerification).
      const started = startVerification(deps.verify, request, token);
      if (started instanceof Promise) {
        early = startInvocationLogWhileWaiting(context);
        decision = await started;
      } else {
        decision = started;
      }
    } catch (error) {
      logFailure(invocationLogOf(early, context), request, token, error, startedAt);
      throw new Error(DEPENDENCY_FAILURE_MESSAGE);
    }
    const log = invocationLogOf(early, context);
    // A refused path overrides only what a token could have been allowed: a bad token stays a 401
    // (REST), an address outside the allowlist stays a Deny.
    const pathIssue =
      request.pathIssue !== undefined &&
      !isUnauthenticated(decision.reason) &&
      decision.reason !== 'IP_NOT_ALLOWED'
        ? request.pathIssue
        : undefined;
    // A strict HTTP API counts what would be allowed; over a limit it is a 403 like any refusal.
    const counted =
      strict !== undefined &&
      request.gateway === 'http' &&
      pathIssue === undefined &&
      decision.reason === 'VALID' &&
      decision.credential !== undefined &&
      strict.appliesTo(event)
        ? await strict.check(decision.credential, millisOf(deps.verify.clock))
        : 'ALLOWED';
    const limited = counted === 'ALLOWED' ? undefined : counted;
    logDecision(log, request, decision, token, startedAt, pathIssue, limited);
    if (limited !== undefined) return { isAuthorized: false };
    if (pathIssue !== undefined) {
      return request.gateway === 'rest'
        ? restRefusal(decision, request.methodArn, request.basePath, request.keyedByPath)
        : { isAuthorized: false };
    }
    if (decision.reason === 'VALID' && decision.credential !== undefined) {
      recordUseInBackground(tracking, decision.credential.tokenId, Date.now());
    }
    return request.gateway === 'rest'
      ? restResponseFor(decision, request.methodArn, request.basePath, request.keyedByPath)
      : httpResponse(decision);
  };
}
