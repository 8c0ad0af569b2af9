import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { findFreePort } from '../../../local/emulators.js';
import { headerOf } from '../../../local/events.js';
import { type RouteTarget, type RunningGateway, startGateway } from '../../../local/gateway.js';
import { LambdaAuthorizer } from '../../../local/lambda-authorizer.js';
import { type LocalFunction, localFunction } from '../../../local/lambda-runtime.js';
import type { GatewayRoute } from '../../../local/routing.js';

// The gateway over real HTTP, with stand-in functions: routing, the authorizer in front, the proxy
// event handed to the integration, its result written back, the gateway's own error answers, and
// the access log.

const API = { apiId: 'local', stage: 'local', stageVariables: null };
const SECRET = 'atk_thisMustNeverBeLogged';

const fakeFunction = (invoke: (event: unknown) => Promise<unknown>): LocalFunction => ({
  name: 'fake',
  entry: 'fake.ts',
  invoke: vi.fn(invoke),
});

const echo = fakeFunction(async (event) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  multiValueHeaders: { 'x-multi': ['a', 'b'] },
  body: JSON.stringify(event),
}));
const authorizer = new LambdaAuthorizer({
  fn: fakeFunction(async (event) => {
    const methodArn = (event as { methodArn: string }).methodArn;
    const apiStage = methodArn.split('/').slice(0, 2).join('/');
    if ((event as { identitySource: string }).identitySource !== `Bearer ${SECRET}`) {
      throw new Error('Unauthorized');
    }
    return {
      principalId: 'user-1',
      policyDocument: {
        Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: `${apiStage}/GET/*` }],
      },
      context: { userId: 'user-1' },
    };
  }),
  cacheTtlSeconds: 60,
  identitySources: (request) => {
    const value = headerOf(request, 'authorization');
    return value === undefined ? undefined : [value];
  },
  log: () => undefined,
});
const lambda = (fn: LocalFunction, withAuthorizer = true): RouteTarget => ({
  kind: 'lambda',
  api: API,
  fn,
  authorizer: withAuthorizer ? authorizer : undefined,
});

const routes: GatewayRoute<RouteTarget>[] = [
  { method: 'GET', path: '/items/{id}', target: lambda(echo) },
  { method: 'POST', path: '/items/{id}', target: lambda(echo) },
  { method: 'POST', path: '/public', target: lambda(echo, false) },
  {
    method: 'GET',
    path: '/broken',
    target: lambda(
      fakeFunction(async () => ({ body: 'no status' })),
      false,
    ),
  },
  {
    method: 'GET',
    path: '/throws',
    target: lambda(
      fakeFunction(async () => {
        throw new Error('boom');
      }),
      false,
    ),
  },
  {
    method: 'GET',
    path: '/slow',
    target: lambda(
      localFunction(
        'slow',
        'slow.ts',
        () => new Promise((resolveLater) => setTimeout(resolveLater, 1000)),
        50,
      ),
      false,
    ),
  },
];

let gateway: RunningGateway;
const logLines: string[] = [];

beforeAll(async () => {
  gateway = await startGateway({ port: await findFreePort(), routes, log: (line) => logLines.push(line) });
});
afterAll(() => gateway.stop());

const authorized = { authorization: `Bearer ${SECRET}` };

describe('the local gateway', () => {
  it('hands the integration a proxy event with the authorizer context and writes its result', async () => {
    const response = await fetch(`${gateway.url}/items/a%20b?x=1&x=2`, { headers: authorized });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-multi')).toBe('a, b');
    expect(response.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    const event = await response.json();
    expect(event).toMatchObject({
      resource: '/items/{id}',
      path: '/items/a%20b',
      httpMethod: 'GET',
      pathParameters: { id: 'a b' },
      queryStringParameters: { x: '2' },
      multiValueQueryStringParameters: { x: ['1', '2'] },
      body: null,
      isBase64Encoded: false,
      requestContext: {
        authorizer: { userId: 'user-1', principalId: 'user-1' },
        identity: { sourceIp: '127.0.0.1' },
        resourcePath: '/items/{id}',
      },
    });
  });

  it('answers with the contract error shape: 401, 403, 404', async () => {
    const missing = await fetch(`${gateway.url}/items/1`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({
      error: { code: 'UNAUTHORIZED', message: 'Missing or invalid credentials' },
    });
    expect(
      (await fetch(`${gateway.url}/items/1`, { headers: { authorization: 'Bearer nope' } })).status,
    ).toBe(401);
    const denied = await fetch(`${gateway.url}/items/1`, { method: 'POST', headers: authorized, body: '{}' });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ error: { code: 'FORBIDDEN', message: 'Not allowed' } });
    for (const [method, path] of [
      ['GET', '/nowhere'],
      ['DELETE', '/items/1'],
    ] as const) {
      const response = await fetch(`${gateway.url}${path}`, { method, headers: authorized });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'No such route' } });
    }
  });

  it('passes a body through and refuses one over 10 MB with 413', async () => {
    const ok = await fetch(`${gateway.url}/public`, { method: 'POST', body: '{"a":1}' });
    expect(await ok.json()).toMatchObject({ body: '{"a":1}' });
    const big = await fetch(`${gateway.url}/public`, {
      method: 'POST',
      body: 'x'.repeat(10 * 1024 * 1024 + 1),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  it('a malformed proxy result or a failing function is a 502, a timeout a 504', async () => {
    expect((await fetch(`${gateway.url}/broken`)).status).toBe(502);
    expect((await fetch(`${gateway.url}/throws`)).status).toBe(502);
    const slow = await fetch(`${gateway.url}/slow`);
    expect(slow.status).toBe(504);
    expect(await slow.json()).toEqual({ error: { code: 'INTERNAL', message: 'Internal server error' } });
  });

  it('logs one line per request with the cache status, never a credential or a body', async () => {
    logLines.length = 0;
    await fetch(`${gateway.url}/items/1`, { headers: authorized });
    await fetch(`${gateway.url}/public`, { method: 'POST', body: `{"secret":"${SECRET}"}` });
    expect(logLines).toEqual([
      expect.stringMatching(/^GET \/items\/1 → 200 \(\d+ ms, authorizer cache hit\)$/),
      expect.stringMatching(/^POST \/public → 200 \(\d+ ms\)$/),
    ]);
    expect(logLines.join('\n')).not.toContain(SECRET);
  });
});
