import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { policySchema } from '../../../lambdas/contract/api-schemas.js';
import type { RouteHandler } from '../../../lambdas/http/route-handler.js';
import { stubHandlerEnv } from '../../support/env.js';
import { expectContractError, invoke, proxyEvent, viewerContext } from '../../support/proxy-events.js';

describe('GET /policy', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  let handler: RouteHandler;

  beforeAll(async () => {
    stubHandlerEnv({
      policy: { expiryPresetsDays: [14, 60], maxLifetimeDays: 90, allowNoExpiry: true, tokenPrefix: 'acme' },
    });
    ({ handler } = await import('../../../lambdas/get-policy/handler.js'));
  });
  afterEach(() => {
    dynamo.reset();
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it('200: the deployment policy, to the contract, for any role; no table access', async () => {
    const result = await invoke(
      handler,
      proxyEvent({ method: 'GET', resource: '/policy', caller: viewerContext() }),
    );
    expect(result.status).toBe(200);
    expect(policySchema.strict().safeParse(result.json).success).toBe(true);
    expect(result.json).toMatchObject({
      tokenPrefix: 'acme',
      expiryPresetsDays: [14, 60],
      defaultExpiryDays: 14,
      maxLifetimeDays: 90,
      allowNoExpiry: true,
      limits: { maxActiveTokensPerUser: 10, maxActiveTokensPerAccount: 100 },
      defaultTokenType: 'standard',
      revocationWindowSeconds: 60,
    });
    expect((result.json as { scopeCatalogue: string[] }).scopeCatalogue).toContain('content:read');
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('401 without a caller', async () => {
    const result = await invoke(handler, proxyEvent({ method: 'GET', resource: '/policy', caller: null }));
    expectContractError(result, 401, 'UNAUTHORIZED');
  });
});
