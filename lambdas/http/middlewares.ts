import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { RouteDefinition } from '../contract/routes.js';
import { DomainError } from '../core/errors.js';
import type { Caller } from '../core/model.js';
import { logger } from '../runtime/logger.js';
import { domainErrorResponse, internalErrorResponse } from './response.js';

// The two middlewares every route has: the error mapper and the access log. Per-request state is
// kept against the event object (one per invocation), never in module scope, because the local
// gateway runs concurrent requests through the same module.

type HttpMiddleware = MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult>;

interface RequestState {
  readonly startedAt: number;
  caller?: Caller;
  /** On an `iam` route: the ARN of the AWS principal that signed the request. */
  principal?: string;
  errorCode?: string;
  /** The cause of a 500, for the log only. */
  fault?: unknown;
}

const states = new WeakMap<object, RequestState>();

/** Records the authenticated caller so that the access log can name them. */
export function noteCaller(event: APIGatewayProxyEvent, caller: Caller): void {
  const state = states.get(event);
  if (state !== undefined) state.caller = caller;
}

/** Records the AWS principal of an `iam` route's request so that the access log can name it. */
export function notePrincipal(event: APIGatewayProxyEvent, principal: string): void {
  const state = states.get(event);
  if (state !== undefined) state.principal = principal;
}

/**
 * DomainError → its status and `{"error": {"code", "message", "details"?}}`; anything else → 500
 * INTERNAL with a body that says nothing about the cause (which goes to the log).
 */
export function errorMapper(): HttpMiddleware {
  return {
    onError: (request) => {
      const { error } = request;
      const state = states.get(request.event);
      if (error instanceof DomainError) {
        if (state !== undefined) state.errorCode = error.code;
        request.response = domainErrorResponse(error);
        return;
      }
      if (state !== undefined) {
        state.errorCode = 'INTERNAL';
        state.fault = error;
      }
      request.response = internalErrorResponse();
    },
  };
}

/** What the log may say about a failure: its type, message and stack; never request data. */
function describeFault(fault: unknown): Record<string, unknown> {
  if (fault instanceof Error) {
    return {
      name: fault.name,
      message: fault.message,
      stack: fault.stack,
      ...('$metadata' in fault
        ? { awsRequestId: (fault.$metadata as { requestId?: unknown }).requestId }
        : {}),
    };
  }
  return { name: typeof fault };
}

/**
 * One structured line per request: route, status, latency and who called (user or AWS principal). Never the body, the
 * headers (the Authorization header is a credential) or the query string.
 */
export function accessLog(route: RouteDefinition): HttpMiddleware {
  const write = (request: { event: APIGatewayProxyEvent; response: APIGatewayProxyResult | null }) => {
    const state = states.get(request.event);
    const status = request.response?.statusCode ?? 500;
    const line = {
      route: route.name,
      method: route.method,
      path: route.path,
      status,
      latencyMs: state === undefined ? undefined : Math.round(performance.now() - state.startedAt),
      requestId: request.event.requestContext?.requestId,
      userId: state?.caller?.userId,
      accountId: state?.caller?.accountId,
      role: state?.caller?.role,
      principal: state?.principal,
      errorCode: state?.errorCode,
    };
    if (status >= 500) {
      logger.error('request failed', { ...line, error: describeFault(state?.fault) });
    } else {
      logger.info('request', line);
    }
  };
  return {
    before: (request) => {
      states.set(request.event, { startedAt: performance.now() });
    },
    after: write,
    onError: write,
  };
}
