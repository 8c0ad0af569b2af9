import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SETTINGS } from '../../../lambdas/contract/policy-settings.js';
import { localApiGateway } from '../../../local/usage-plans.js';

// The local stack's type plans (local/usage-plans.ts): one per token type, named and limited as CDK
// deploys them, on the demo API's stage, so a token of each type is admitted by its type's plan.

const STAGE = { apiId: 'demo', stage: 'local' };

describe('local usage plans', () => {
  it("creates a plan per token type with the type's limits, on the given stages", () => {
    const emulator = localApiGateway(DEFAULT_POLICY_SETTINGS, [STAGE]);
    const listed = JSON.parse(
      emulator.handle({ method: 'GET', path: '/usageplans', query: [], body: null }).body,
    ) as { item: unknown[] };
    expect(listed.item).toEqual([
      {
        id: expect.any(String),
        name: 'access-tokens-local-type-standard',
        description: 'Access Tokens: tokens of type standard (local)',
        apiStages: [STAGE],
        throttle: { rateLimit: 50, burstLimit: 100 },
      },
      {
        id: expect.any(String),
        name: 'access-tokens-local-type-restricted',
        description: 'Access Tokens: tokens of type restricted (local)',
        apiStages: [STAGE],
        throttle: { rateLimit: 10, burstLimit: 20 },
        quota: { limit: 10_000, offset: 0, period: 'DAY' },
      },
    ]);
  });

  it('refuses a stage it was not given (the type plans name only the demo API)', () => {
    const emulator = localApiGateway(DEFAULT_POLICY_SETTINGS, [STAGE]);
    const response = emulator.handle({
      method: 'POST',
      path: '/usageplans',
      query: [],
      body: JSON.stringify({ name: 'x', apiStages: [{ apiId: 'other', stage: 'local' }] }),
    });
    expect(response.statusCode).toBe(400);
  });
});
