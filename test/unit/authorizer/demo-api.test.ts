import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { lambdaContext, restProxyEvent } from '../../support/authorizer-events.js';
import { stubHandlerEnv } from '../../support/env.js';

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<APIGatewayProxyResult>;

const CONTEXT = {
  tokenId: 'tok_0000000000000000000001',
  userId: 'user-1',
  accountId: 'acct-1',
  scopes: 'content:read content:write',
  type: 'standard',
  principalId: 'user-1',
  integrationLatency: 12,
};

describe('demo API', () => {
  let handler: Handler;

  beforeAll(async () => {
    stubHandlerEnv();
    handler = (await import('../../../lambdas/demo-api/handler.js')).handler as unknown as Handler;
  });

  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it('echoes method, path, area and the token authorizer context for any method', async () => {
    for (const method of ['GET', 'POST', 'DELETE', 'PATCH']) {
      const response = await handler(
        restProxyEvent(method, '/demo/content/items/7', CONTEXT),
        lambdaContext('demo'),
      );
      expect(response.statusCode).toBe(200);
      expect(response.headers?.['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(response.body)).toEqual({
        message: `Token tok_0000000000000000000001 accepted for ${method} on area "content".`,
        method,
        path: '/demo/content/items/7',
        area: 'content',
        authorizer: {
          tokenId: 'tok_0000000000000000000001',
          userId: 'user-1',
          accountId: 'acct-1',
          scopes: 'content:read content:write',
          type: 'standard',
        },
      });
    }
  });

  it('reads the HTTP API shape (authorizer.lambda) too', async () => {
    const event = {
      version: '2.0',
      rawPath: '/demo/reports',
      requestContext: { http: { method: 'GET', path: '/demo/reports' }, authorizer: { lambda: CONTEXT } },
      stageVariables: { accessTokensBasePath: '/demo' },
    };
    const body = JSON.parse((await handler(event, lambdaContext('demo'))).body);
    expect(body).toMatchObject({ method: 'GET', area: 'reports', authorizer: { tokenId: CONTEXT.tokenId } });
  });

  it('answers even without an authorizer context (the sample proxy event)', async () => {
    const body = JSON.parse(
      (await handler(restProxyEvent('GET', '/demo/x', null), lambdaContext('demo'))).body,
    );
    expect(body.authorizer).toEqual({
      tokenId: null,
      userId: null,
      accountId: null,
      scopes: null,
      type: null,
    });
    expect(body.area).toBe('x');
  });
});
