import { describe, expect, it, vi } from 'vitest';
import { encodeRouteScopes } from '../../../lambdas/core/route-scopes.js';
import { AuthorizerCache } from '../../../local/authorizer-cache.js';
import { type ApiStage, headerOf, type IncomingRequest } from '../../../local/events.js';
import { GATEWAY_RESPONSES } from '../../../local/gateway-responses.js';
import { identitySourceValues, LambdaAuthorizer } from '../../../local/lambda-authorizer.js';
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

describe('route-scoped APIs: identity sources with the method and the resource template', () => {
  const ROUTED_API: ApiStage = {
    apiId: 'demo',
    stage: 'local',
    stageVariables: {
      accessTokensBasePath: '/demo',
      accessTokensRoutes: encodeRouteScopes({ 'GET /reports/{id}': 'reports:read' }),
    },
  };
  const SOURCES = [
    'method.request.header.Authorization',
    'context.identity.sourceIp',
    'context.httpMethod',
    'context.resourcePath',
  ];
  const ITEM = { resourcePath: '/demo/reports/{id}', pathParameters: { id: '1' } };
  const DEEPER = { resourcePath: '/demo/reports/{id}/secret', pathParameters: { id: '1' } };
  // What the token authorizer answers for a mapped route: a policy about that one route.
  const routePolicy = (event: unknown) => {
    const { httpMethod, resource } = event as { httpMethod: string; resource: string };
    const allowed = httpMethod === 'GET' && resource === '/demo/reports/{id}';
    return {
      principalId: 'user-1',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Action: 'execute-api:Invoke',
            Effect: allowed ? 'Allow' : 'Deny',
            Resource: `${STAGE_ARN}/${httpMethod}${resource.replace(/\{[^}]*\}/g, '*')}`,
          },
        ],
      },
    };
  };

  it('reads the configured sources as API Gateway does; a missing or empty header is missing', () => {
    const incoming = request('GET', '/demo/reports/1', 'Bearer t', '2001:db8::1');
    expect(identitySourceValues(SOURCES, incoming, ITEM)).toEqual([
      'Bearer t',
      '2001:db8::1',
      'GET',
      '/demo/reports/{id}',
    ]);
    expect(identitySourceValues(SOURCES, request('GET', '/demo/reports/1'), ITEM)).toBeUndefined();
    expect(identitySourceValues(SOURCES, request('GET', '/demo/reports/1', '  '), ITEM)).toBeUndefined();
    expect(() => identitySourceValues(['stageVariables.x'], incoming, ITEM)).toThrow(/not emulated/);
  });

  it('passes resource, httpMethod and the stage variables; a cached route policy serves only its method and template', async () => {
    const fn: LocalFunction = {
      name: 'tokenAuthorizer',
      entry: 'x.ts',
      invoke: vi.fn(async (event) => routePolicy(event)),
    };
    const authorizer = new LambdaAuthorizer({
      fn,
      cacheTtlSeconds: 60,
      identitySources: (incoming, resource) => identitySourceValues(SOURCES, incoming, resource),
      log: vi.fn(),
    });
    const get1 = await authorizer.authorize(ROUTED_API, request('GET', '/demo/reports/1', 'Bearer t'), ITEM);
    expect(fn.invoke).toHaveBeenLastCalledWith(
      expect.objectContaining({
        resource: '/demo/reports/{id}',
        httpMethod: 'GET',
        stageVariables: ROUTED_API.stageVariables,
      }),
    );
    const get2 = await authorizer.authorize(ROUTED_API, request('GET', '/demo/reports/2', 'Bearer t'), ITEM);
    const deeper = await authorizer.authorize(
      ROUTED_API,
      request('GET', '/demo/reports/1/secret', 'Bearer t'),
      DEEPER,
    );
    const head = await authorizer.authorize(ROUTED_API, request('HEAD', '/demo/reports/1', 'Bearer t'), ITEM);
    expect(get1).toMatchObject({ kind: 'allowed', cache: 'miss' });
    expect(get2).toMatchObject({ kind: 'allowed', cache: 'hit' });
    // Under a token+ip key the cached `GET /demo/reports/*` Allow would have let these through.
    expect(deeper).toMatchObject({
      kind: 'refused',
      response: GATEWAY_RESPONSES.accessDenied,
      cache: 'miss',
    });
    expect(head).toMatchObject({ kind: 'refused', response: GATEWAY_RESPONSES.accessDenied, cache: 'miss' });
    expect(fn.invoke).toHaveBeenCalledTimes(3);
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
