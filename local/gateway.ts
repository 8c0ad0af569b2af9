import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { GATEWAY_ERRORS } from '../lib/gateway-errors.js';
import type { Admission, ApiStageId } from './api-gateway-emulator.js';
import type { ApiStage, IncomingRequest } from './events.js';
import { proxyEvent } from './events.js';
import { GATEWAY_RESPONSES, type GatewayResponse, retryAfter } from './gateway-responses.js';
import type { LambdaAuthorizer } from './lambda-authorizer.js';
import { LambdaTimeoutError, type LocalFunction } from './lambda-runtime.js';
import { readProxyResult } from './proxy-response.js';
import { declaredTooLarge, readBody } from './request-body.js';
import { type GatewayRoute, RouteTable } from './routing.js';

// The local API Gateway: one HTTP server on 127.0.0.1 that routes each request as a REST API would
// (routing.ts), runs the route's Lambda authorizer with its result cache (lambda-authorizer.ts),
// invokes the route's handler with a proxy event (events.ts) and writes its result
// (proxy-response.ts). Local-only routes (the dev identity provider) are answered in process.
// IAM routes (POST /verify) check no SigV4 signature here: they answer loopback callers only, and
// anyone else gets a 403 (docs/verify.md).
// One access-log line per request: method, path, status, time, authorizer cache; never a header
// value or a body.
//
// Usage plans (docs/rate-limits.md "Local emulation"): a route with `usagePlans` is a method with
// apiKeyRequired on an API whose key comes from the authorizer (apiKeySource AUTHORIZER). After the
// authorizer (fresh or cached) allows, the answer's usageIdentifierKey is admitted by the emulated
// usage plans: no key, or a key in no plan of this stage → 503 TOKEN_NOT_READY (API Gateway's
// INVALID_API_KEY as this stack maps it); an empty token bucket → 429 RATE_LIMITED; a used-up quota →
// 429 QUOTA_EXCEEDED; each with Retry-After. Only then does the integration run.

/** The emulated usage plans a route's requests are admitted by (local/api-gateway-emulator.ts). */
export interface UsagePlanEnforcement {
  admit(stage: ApiStageId, keyValue: string): Admission;
}

/** How long a client should wait before retrying a key that is not ready: as deployed (lib/gateway-errors.ts). */
const USAGE_KEY_PENDING_RETRY_AFTER_SECONDS = GATEWAY_ERRORS.usageKeyPending.retryAfterSeconds;

function refusalOf(admission: Exclude<Admission, { kind: 'allowed' }>): GatewayResponse {
  switch (admission.kind) {
    case 'keyNotReady':
      return retryAfter(GATEWAY_RESPONSES.usageKeyPending, USAGE_KEY_PENDING_RETRY_AFTER_SECONDS);
    case 'throttled':
      return retryAfter(GATEWAY_RESPONSES.throttled, admission.retryAfterSeconds);
    case 'quotaExceeded':
      return retryAfter(GATEWAY_RESPONSES.quotaExceeded, admission.retryAfterSeconds);
  }
}

export type RouteTarget =
  | {
      readonly kind: 'lambda';
      readonly api: ApiStage;
      readonly fn: LocalFunction;
      /** Undefined: a public route (or an IAM one, `iam`). */
      readonly authorizer: LambdaAuthorizer | undefined;
      /**
       * An IAM (SigV4) method, e.g. POST /verify: locally no signature is checked, so it is served to
       * loopback callers only (as LOCAL_IAM_PRINCIPAL) and refused (403) to anyone else.
       */
      readonly iam?: boolean;
      /** Set: the method requires an API key, taken from the authorizer's answer. */
      readonly usagePlans?: UsagePlanEnforcement;
    }
  | { readonly kind: 'local'; readonly handle: (request: IncomingRequest) => GatewayResponse };

interface GatewayOptions {
  readonly port: number;
  readonly host?: string;
  readonly routes: readonly GatewayRoute<RouteTarget>[];
  readonly log: (line: string) => void;
  /** What answers a request no route matched (the web console's files), else the gateway's 404. */
  readonly fallback?: (request: {
    method: string;
    path: string;
    accept: string | undefined;
  }) => Omit<Answer, 'cache'> | undefined;
}

export interface RunningGateway {
  readonly url: string;
  stop(): Promise<void>;
}

interface Answer {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly body: string | Buffer;
  readonly cache: string;
}

const fromGateway = (response: GatewayResponse, cache = '-'): Answer => ({ ...response, cache });

/**
 * The principal an IAM route's function sees locally (`requestContext.identity.userArn`): API
 * Gateway names the signer there; the local gateway checks no signature and names this stand-in.
 */
export const LOCAL_IAM_PRINCIPAL = 'arn:aws:iam::000000000000:user/local-loopback';

/** 127.0.0.0/8 and ::1 (IPv4-mapped addresses arrive here already unmapped, sourceIpOf). */
export function isLoopback(address: string): boolean {
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

function sourceIpOf(request: IncomingMessage): string {
  const address = request.socket.remoteAddress ?? '127.0.0.1';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

function queryOf(url: URL): [string, string][] {
  return [...url.searchParams.entries()];
}

async function invokeIntegration(
  target: Extract<RouteTarget, { kind: 'lambda' }>,
  request: IncomingRequest,
  resource: { resourcePath: string; pathParameters: Readonly<Record<string, string>> },
  log: (line: string) => void,
): Promise<Answer> {
  let authorizerContext: Readonly<Record<string, string | number>> | null = null;
  let cache = '-';
  // No SigV4 check locally: an IAM route answers loopback callers only (docs/verify.md).
  if (target.iam === true && !isLoopback(request.sourceIp))
    return fromGateway(GATEWAY_RESPONSES.accessDenied);
  if (target.authorizer !== undefined) {
    const outcome = await target.authorizer.authorize(target.api, request, resource);
    cache = outcome.cache === 'none' ? '-' : outcome.cache;
    if (outcome.kind === 'refused') return fromGateway(outcome.response, cache);
    authorizerContext = outcome.context;
    if (target.usagePlans !== undefined) {
      const admission =
        outcome.usageIdentifierKey === undefined
          ? ({ kind: 'keyNotReady' } as const)
          : target.usagePlans.admit(target.api, outcome.usageIdentifierKey);
      if (admission.kind !== 'allowed') return fromGateway(refusalOf(admission), cache);
    }
  }
  const event = proxyEvent(target.api, request, resource, authorizerContext);
  if (target.iam === true) event.requestContext.identity.userArn = LOCAL_IAM_PRINCIPAL;
  let result: unknown;
  try {
    result = await target.fn.invoke(event);
  } catch (error) {
    log(
      `${target.fn.name} failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
    );
    return fromGateway(
      error instanceof LambdaTimeoutError
        ? GATEWAY_RESPONSES.integrationTimeout
        : GATEWAY_RESPONSES.badGateway,
      cache,
    );
  }
  const response = readProxyResult(result);
  if (response === undefined) {
    log(`${target.fn.name} returned a malformed proxy response`);
    return fromGateway(GATEWAY_RESPONSES.badGateway, cache);
  }
  return { ...response, cache };
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const host = options.host ?? '127.0.0.1';
  const table = new RouteTable(options.routes);

  async function answer(incoming: IncomingMessage, requestId: string, receivedAt: number): Promise<Answer> {
    const url = new URL(incoming.url ?? '/', `http://${host}`);
    const method = (incoming.method ?? 'GET').toUpperCase();
    const match = table.match(method, url.pathname);
    if (match.kind !== 'matched') {
      incoming.resume();
      const served = options.fallback?.({ method, path: url.pathname, accept: incoming.headers.accept });
      return served === undefined ? fromGateway(GATEWAY_RESPONSES.noSuchRoute) : { ...served, cache: '-' };
    }
    const body = await readBody(incoming);
    if (body.kind === 'tooLarge') return fromGateway(GATEWAY_RESPONSES.requestTooLarge);
    const request: IncomingRequest = {
      method,
      path: url.pathname,
      rawHeaders: incoming.rawHeaders,
      query: queryOf(url),
      body: body.body,
      sourceIp: sourceIpOf(incoming),
      requestId,
      receivedAt,
      domainName: `${host}:${options.port}`,
      port: options.port,
    };
    const target = match.route.target;
    if (target.kind === 'local') return fromGateway(target.handle(request));
    return invokeIntegration(
      target,
      request,
      { resourcePath: match.route.path, pathParameters: match.pathParameters },
      options.log,
    );
  }

  function write(response: ServerResponse, result: Answer, requestId: string): void {
    if (response.headersSent || response.destroyed) return;
    response.statusCode = result.statusCode;
    for (const [name, value] of Object.entries(result.headers)) response.setHeader(name, value);
    response.setHeader('x-amzn-requestid', requestId);
    response.end(result.body);
  }

  const server: Server = createServer((incoming, response) => {
    const requestId = randomUUID();
    const receivedAt = Date.now();
    const startedAt = performance.now();
    const pathOnly = (incoming.url ?? '/').split('?')[0] ?? '/';
    answer(incoming, requestId, receivedAt)
      .catch((error: unknown) => {
        options.log(`gateway error: ${error instanceof Error ? error.message : String(error)}`);
        return fromGateway(GATEWAY_RESPONSES.internal);
      })
      .then((result) => {
        write(response, result, requestId);
        const ms = Math.round(performance.now() - startedAt);
        const cache = result.cache === '-' ? '' : `, authorizer cache ${result.cache}`;
        options.log(`${incoming.method ?? '?'} ${pathOnly} → ${result.statusCode} (${ms} ms${cache})`);
      });
  });
  // `Expect: 100-continue` with a declared body over the limit: refuse before the client sends it.
  server.on('checkContinue', (incoming: IncomingMessage, response: ServerResponse) => {
    if (declaredTooLarge(incoming)) {
      const requestId = randomUUID();
      response.setHeader('connection', 'close');
      write(response, fromGateway(GATEWAY_RESPONSES.requestTooLarge), requestId);
      options.log(`${incoming.method ?? '?'} ${(incoming.url ?? '/').split('?')[0]} → 413 (0 ms)`);
      return;
    }
    response.writeContinue();
    server.emit('request', incoming, response);
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });

  return {
    url: `http://${host}:${options.port}`,
    stop: () =>
      new Promise<void>((resolveStop) => {
        server.close(() => resolveStop());
        server.closeAllConnections();
      }),
  };
}
