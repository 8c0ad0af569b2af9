import { describe, expect, it, vi } from 'vitest';
import { AuthorizerCache } from '../../../local/authorizer-cache.js';
import { type ApiStage, headerOf, type IncomingRequest } from '../../../local/events.js';
import { GATEWAY_RESPONSES } from '../../../local/gateway-responses.js';
import { LambdaAuthorizer } from '../../../local/lambda-authorizer.js';
import type { LocalFunction } from '../../../local/lambda-runtime.js';

const API: ApiStage = { apiId: 'demo', stage: 'local', stageVariables: { accessTokensBasePath: '/demo' } };
const STAGE_ARN = 'arn:aws:execute-api:local:000000000000:demo/local';
const RESOURCE = { resourcePath: '/demo/{area}/{proxy+}', pathParameters: { area: 'reports', proxy: 'x' } };

function request(
  method: string,
  path: string,
  authorization?: string,
  sourceIp = '127.0.0.1',
): IncomingRequest {
  return {
    method,
    path,
    rawHeaders: authorization === undefined ? ['User-Agent', 'test'] : ['Authorization', authorization],
    query: [],
    body: null,
    sourceIp,
    requestId: 'r-1',
    receivedAt: Date.parse('2025-03-01T12:00:00Z'),
    domainName: '127.0.0.1:4010',
    port: 4010,
  };
}

const allowReportsRead = {
  principalId: 'user-1',
  policyDocument: {
    Version: '2012-10-17',
    Statement: [
      {
        Action: 'execute-api:Invoke',
        Effect: 'Allow',
        Resource: [`${STAGE_ARN}/GET/demo/reports`, `${STAGE_ARN}/GET/demo/reports/*`],
      },
    ],
  },
  context: { tokenId: 'tok_1', scopes: 'reports:read' },
};

function authorizerWith(invoke: (event: unknown) => Promise<unknown>, ttlSeconds = 30) {
  const fn: LocalFunction = { name: 'tokenAuthorizer', entry: 'x.ts', invoke: vi.fn(invoke) };
  const log = vi.fn();
  const authorizer = new LambdaAuthorizer({
    fn,
    cacheTtlSeconds: ttlSeconds,
    identitySources: (incoming) => {
      const value = headerOf(incoming, 'authorization');
      return value === undefined ? undefined : [value, incoming.sourceIp];
    },
    log,
  });
  return { authorizer, invoke: fn.invoke, log };
}

describe('the emulated REST Lambda authorizer', () => {
  it('a missing identity source is a 401 without calling the function', async () => {
    const { authorizer, invoke } = authorizerWith(async () => allowReportsRead);
    const outcome = await authorizer.authorize(API, request('GET', '/demo/reports/x'), RESOURCE);
    expect(outcome).toMatchObject({
      kind: 'refused',
      response: GATEWAY_RESPONSES.unauthorized,
      cache: 'none',
    });
    expect(invoke).not.toHaveBeenCalled();
  });

  it('sends a REQUEST event with the method ARN, stage variables and source address', async () => {
    const { authorizer, invoke } = authorizerWith(async () => allowReportsRead);
    await authorizer.authorize(API, request('GET', '/demo/reports/x', 'Bearer t', '203.0.113.9'), RESOURCE);
    expect(invoke).toHaveBeenCalledWith(
      expect.objectContaining({
        type: 'REQUEST',
        methodArn: `${STAGE_ARN}/GET/demo/reports/x`,
        headers: expect.objectContaining({ Authorization: 'Bearer t' }),
        stageVariables: { accessTokensBasePath: '/demo' },
        requestContext: expect.objectContaining({
          identity: expect.objectContaining({ sourceIp: '203.0.113.9' }),
        }),
      }),
    );
  });

  it('an allowing policy passes the context, principalId and integrationLatency on', async () => {
    const { authorizer } = authorizerWith(async () => allowReportsRead);
    const outcome = await authorizer.authorize(API, request('GET', '/demo/reports/x', 'Bearer t'), RESOURCE);
    expect(outcome).toMatchObject({
      kind: 'allowed',
      cache: 'miss',
      context: {
        tokenId: 'tok_1',
        scopes: 'reports:read',
        principalId: 'user-1',
        integrationLatency: expect.any(Number),
      },
    });
  });

  it('caches per identity-source values and re-evaluates the cached policy for each method ARN', async () => {
    const { authorizer, invoke } = authorizerWith(async () => allowReportsRead);
    const first = await authorizer.authorize(API, request('GET', '/demo/reports/x', 'Bearer t'), RESOURCE);
    const write = await authorizer.authorize(API, request('POST', '/demo/reports/x', 'Bearer t'), RESOURCE);
    const otherIp = await authorizer.authorize(
      API,
      request('GET', '/demo/reports/x', 'Bearer t', '10.0.0.1'),
      RESOURCE,
    );
    expect(first).toMatchObject({ kind: 'allowed', cache: 'miss' });
    expect(write).toMatchObject({ kind: 'refused', response: GATEWAY_RESPONSES.accessDenied, cache: 'hit' });
    expect(otherIp).toMatchObject({ kind: 'allowed', cache: 'miss' });
    expect(invoke).toHaveBeenCalledTimes(2);
  });

  it('a thrown `Unauthorized` is a cached 401', async () => {
    const { authorizer, invoke } = authorizerWith(async () => {
      throw new Error('Unauthorized');
    });
    const first = await authorizer.authorize(API, request('GET', '/demo/reports/x', 'Bearer bad'), RESOURCE);
    const second = await authorizer.authorize(API, request('GET', '/demo/reports/x', 'Bearer bad'), RESOURCE);
    expect(first).toMatchObject({ kind: 'refused', response: GATEWAY_RESPONSES.unauthorized, cache: 'miss' });
    expect(second).toMatchObject({ kind: 'refused', response: GATEWAY_RESPONSES.unauthorized, cache: 'hit' });
    expect(invoke).toHaveBeenCalledTimes(1);
  });

  it('any other error, or an unusable output, is a 500 that is not cached', async () => {
    const failing = authorizerWith(async () => {
      throw new Error('Authorizer dependency failure');
    });
    for (let attempt = 0; attempt < 2; attempt++) {
      const outcome = await failing.authorizer.authorize(
        API,
        request('GET', '/demo/reports/x', 'Bearer t'),
        RESOURCE,
      );
      expect(outcome).toMatchObject({
        kind: 'refused',
        response: GATEWAY_RESPONSES.authorizerFailure,
        cache: 'miss',
      });
    }
    expect(failing.invoke).toHaveBeenCalledTimes(2);
    const malformed = authorizerWith(async () => ({ principalId: 'u' }));
    const outcome = await malformed.authorizer.authorize(
      API,
      request('GET', '/demo/reports/x', 'Bearer t'),
      RESOURCE,
    );
    expect(outcome).toMatchObject({ response: GATEWAY_RESPONSES.authorizerFailure });
  });

  it('TTL 0 calls the function every time', async () => {
    const { authorizer, invoke } = authorizerWith(async () => allowReportsRead, 0);
    await authorizer.authorize(API, request('GET', '/demo/reports/x', 'Bearer t'), RESOURCE);
    const second = await authorizer.authorize(API, request('GET', '/demo/reports/x', 'Bearer t'), RESOURCE);
    expect(second).toMatchObject({ cache: 'miss' });
    expect(invoke).toHaveBeenCalledTimes(2);
  });
});

describe('the authorizer cache', () => {
  it('forgets an entry when its TTL has passed', () => {
    let now = 1_000;
    const cache = new AuthorizerCache<string>(60, () => now);
    cache.set('k', 'v');
    now += 59_999;
    expect(cache.get('k')).toBe('v');
    now += 1;
    expect(cache.get('k')).toBeUndefined();
  });
});
