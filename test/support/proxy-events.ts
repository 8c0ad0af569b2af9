import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { expect, vi } from 'vitest';
import type { HttpMethod } from '../../lambdas/contract/routes.js';
import type { CallerContext } from '../../lambdas/core/caller-context.js';
import { scaled } from './time.js';

// REST API proxy events for the management handlers, built from the real AWS sample
// (test/fixtures/aws-events/rest-proxy.json) with the JWT authorizer's caller context in
// `requestContext.authorizer`, as API Gateway delivers it behind a Lambda authorizer.

const FIXTURE = readFileSync(new URL('../fixtures/aws-events/rest-proxy.json', import.meta.url), 'utf8');

export interface ProxyEventOptions {
  readonly method: HttpMethod;
  /** The route's resource path, e.g. `/tokens/{id}`; `path` is it with the parameters filled in. */
  readonly resource: string;
  readonly pathParameters?: Record<string, string>;
  readonly query?: Record<string, string | readonly string[]>;
  /** An object is sent as JSON; a string as is. */
  readonly body?: string | object;
  readonly isBase64Encoded?: boolean;
  /** null: no authorizer context at all (as if the authorizer were missing). */
  readonly caller?: CallerContext | Record<string, unknown> | null;
  readonly headers?: Record<string, string>;
  readonly sourceIp?: string;
  readonly userAgent?: string;
  /** An `iam` route's signer, as API Gateway names it after checking SigV4 (`identity.userArn`). */
  readonly iamPrincipal?: string;
}

let requestCounter = 0;

export function proxyEvent(options: ProxyEventOptions): APIGatewayProxyEvent {
  const event = JSON.parse(FIXTURE) as APIGatewayProxyEvent;
  const pathParameters = options.pathParameters ?? null;
  const path = Object.entries(pathParameters ?? {}).reduce(
    (result, [name, value]) => result.replace(`{${name}}`, encodeURIComponent(value)),
    options.resource,
  );
  const entries = Object.entries(options.query ?? {});
  const single = Object.fromEntries(
    entries.map(([name, value]) => [name, typeof value === 'string' ? value : (value.at(-1) ?? '')]),
  );
  const multi = Object.fromEntries(
    entries.map(([name, value]) => [name, typeof value === 'string' ? [value] : [...value]]),
  );
  const headers = { 'Content-Type': 'application/json', ...options.headers };
  requestCounter += 1;
  return {
    ...event,
    resource: options.resource,
    path,
    httpMethod: options.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: entries.length === 0 ? null : single,
    multiValueQueryStringParameters: entries.length === 0 ? null : multi,
    pathParameters,
    body:
      options.body === undefined
        ? null
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body),
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {
      ...event.requestContext,
      httpMethod: options.method,
      path: `/prod${path}`,
      resourcePath: options.resource,
      requestId: `request-${requestCounter}`,
      authorizer:
        options.caller === null
          ? null
          : { principalId: 'user', integrationLatency: 12, ...(options.caller ?? memberContext()) },
      identity: {
        ...event.requestContext.identity,
        sourceIp: options.sourceIp ?? '198.51.100.7',
        userAgent: options.userAgent ?? 'vitest',
        ...(options.iamPrincipal === undefined
          ? {}
          : { userArn: options.iamPrincipal, caller: options.iamPrincipal.split('/').at(-1) ?? null }),
      },
    },
  };
}

function callerContext(overrides: Partial<CallerContext> = {}): CallerContext {
  return { userId: 'user-1', accountId: 'acct-1', role: 'member', email: 'user-1@example.com', ...overrides };
}
export const memberContext = (overrides: Partial<CallerContext> = {}) => callerContext(overrides);
export const adminContext = (overrides: Partial<CallerContext> = {}) =>
  callerContext({ userId: 'admin-1', email: 'admin-1@example.com', role: 'admin', ...overrides });
export const viewerContext = (overrides: Partial<CallerContext> = {}) =>
  callerContext({ userId: 'viewer-1', email: 'viewer-1@example.com', role: 'viewer', ...overrides });

/** A Lambda context good enough for middy and the Powertools logger. */
export function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'access-tokens-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:access-tokens-test',
    memoryLimitInMB: '256',
    awsRequestId: `aws-request-${requestCounter}`,
    logGroupName: '/aws/lambda/access-tokens-test',
    logStreamName: 'test',
    // A deployed management function's 10 s, scaled for this machine (test/support/time.ts).
    getRemainingTimeInMillis: () => scaled(10_000),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface InvokeResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** The parsed JSON body; undefined when the body is empty. */
  readonly json: unknown;
  readonly rawBody: string;
}

type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export async function invoke(handler: ProxyHandler, event: APIGatewayProxyEvent): Promise<InvokeResult> {
  const result = await handler(event, lambdaContext());
  const headers = Object.fromEntries(
    Object.entries(result.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
  );
  return {
    status: result.statusCode,
    headers,
    json: result.body === '' ? undefined : (JSON.parse(result.body) as unknown),
    rawBody: result.body,
  };
}

/** The error object of a contract error body, or undefined if the body is not one. */
export function errorOf(
  result: InvokeResult,
): { code: string; message: string; details?: unknown } | undefined {
  const body = result.json as
    | { error?: { code?: unknown; message?: unknown; details?: unknown } }
    | undefined;
  const error = body?.error;
  if (error === undefined || typeof error.code !== 'string' || typeof error.message !== 'string')
    return undefined;
  return { code: error.code, message: error.message, details: error.details };
}

// Assertions shared by the management handler tests (unit and integration).

const ERROR_KEYS = new Set(['code', 'message', 'details']);

/** The response is the contract's error shape with this status and code, and nothing else. */
export function expectContractError(result: InvokeResult, status: number, code: string): void {
  expect(result.status).toBe(status);
  expect(result.headers['content-type']).toBe('application/json');
  const body = result.json as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['error']);
  const error = errorOf(result);
  expect(error?.code).toBe(code);
  expect(Object.keys(body.error as object).every((key) => ERROR_KEYS.has(key))).toBe(true);
  if (error?.details !== undefined) {
    expect(Array.isArray(error.details)).toBe(true);
    for (const detail of error.details as unknown[]) {
      expect(Object.keys(detail as object).sort()).toEqual(['message', 'path']);
    }
  }
}

/** A 500 that says nothing: exactly the fixed body, no error name, message or stack. */
export function expectOpaqueInternalError(result: InvokeResult): void {
  expect(result.status).toBe(500);
  expect(result.json).toEqual({ error: { code: 'INTERNAL', message: 'Internal error' } });
}

/** Every status the shared plumbing may answer with a contract error. */
export function isContractErrorResponse(result: InvokeResult): boolean {
  const error = errorOf(result);
  const body = result.json as Record<string, unknown> | undefined;
  return (
    error !== undefined &&
    body !== undefined &&
    Object.keys(body).length === 1 &&
    Object.keys(body.error as object).every((key) => ERROR_KEYS.has(key))
  );
}

/**
 * Spies on stdout and stderr (the Powertools logger writes INFO to stdout and ERROR to stderr) and
 * swallows what they get; `lines()` is everything written since.
 */
export function captureLogs(): { lines: () => string[]; restore: () => void } {
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true),
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true),
  ];
  let captured: string[] | undefined;
  const read = () =>
    spies
      .flatMap((spy) => spy.mock.calls)
      .map(([chunk]) => (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')))
      .join('')
      .split('\n')
      .filter((line) => line.trim() !== '');
  return {
    lines: () => captured ?? read(),
    restore: () => {
      // mockRestore also forgets the calls: keep them first.
      captured = read();
      for (const spy of spies) spy.mockRestore();
    },
  };
}
