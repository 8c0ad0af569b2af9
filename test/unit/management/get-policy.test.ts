import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { policySchema } from '../../../lambdas/contract/api-schemas.js';
import { getPolicyRoute } from '../../../lambdas/get-policy/route.js';
import { managementDeps } from '../../support/management-deps.js';
import { expectContractError, invoke, proxyEvent, viewerContext } from '../../support/proxy-events.js';

describe('GET /policy', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const handler = getPolicyRoute(
    managementDeps({
      policy: { expiryPresetsDays: [14, 60], maxLifetimeDays: 90, allowNoExpiry: true, tokenPrefix: 'acme' },
    }),
  );

  afterEach(() => {
    dynamo.reset();
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
