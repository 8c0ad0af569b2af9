import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { ApiGatewayUsagePlans } from '../lambdas/adapters/api-gateway-usage-plans.js';
import { isTokenItem, itemToToken } from '../lambdas/adapters/items.js';
import type { UsagePlanGateway } from '../lambdas/core/ports.js';
import type { PolicySettings } from '../lambdas/core/settings.js';
import { typeLimitsOf } from '../lambdas/core/settings.js';
import { syncUsageKey } from '../lambdas/core/usage-keys/sync-usage-key.js';
import { ApiGatewayEmulator, type ApiStageId, apiGatewayEmulatorUrl } from './api-gateway-emulator.js';
import { LOCAL_AWS_REGION, LOCAL_USAGE_PLAN_PREFIX } from './handler-environment.js';

// The local stack's usage plans (docs/rate-limits.md "Local emulation"). Deployed, CDK creates one
// plan per token type (`<stack name>-type-<type>`) on the protected stages, and the usage-key
// consumer keeps one API key per active token in its plan. Locally there is no CDK: the stack
// creates the same type plans (prefix `access-tokens-local`) in the emulator at start, with the
// types' limits from cdk.json's policy, on the demo API's stage; the usage-key consumer runs on
// the local stream like the notifier; and the functions reach the emulator through the gateway
// (AWS_ENDPOINT_URL_API_GATEWAY).
//
// The emulator keeps its state in memory, so a restart of `npm start` starts with no keys while
// the table (kept in the data directory) still holds active tokens: at start every active token is
// given its key again (reconcileUsageKeys), through the same use case and adapter as the consumer.
// Quota counts start again from zero after a restart (a local-only difference).

/**
 * The emulator of a local stack: `stages` known (the demo API's), and a plan per token type of
 * `policy` on them, named and limited as CDK deploys them.
 */
export function localApiGateway(
  policy: Pick<PolicySettings, 'tokenTypes'>,
  stages: readonly ApiStageId[],
): ApiGatewayEmulator {
  const emulator = new ApiGatewayEmulator({ stages });
  for (const [name, type] of Object.entries(policy.tokenTypes)) {
    const { rateLimit, quota } = typeLimitsOf(type);
    const response = emulator.handle({
      method: 'POST',
      path: '/usageplans',
      query: [],
      body: JSON.stringify({
        name: `${LOCAL_USAGE_PLAN_PREFIX}-type-${name}`,
        description: `Access Tokens: tokens of type ${name} (local)`,
        throttle: { rateLimit: rateLimit.requestsPerSecond, burstLimit: rateLimit.burst },
        ...(quota === null ? {} : { quota: { limit: quota.limit, period: quota.period } }),
        apiStages: stages.map((stage) => ({ apiId: stage.apiId, stage: stage.stage })),
      }),
    });
    if (response.statusCode !== 201) throw new Error(`usage plan of type ${name}: ${response.body}`);
  }
  return emulator;
}

/** The usage-plan adapter the local functions use, for the local stack's own calls. */
export function localUsagePlans(gatewayUrl: string): { plans: ApiGatewayUsagePlans; close(): void } {
  const client = new APIGatewayClient({
    endpoint: apiGatewayEmulatorUrl(gatewayUrl),
    region: LOCAL_AWS_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return {
    plans: new ApiGatewayUsagePlans(client, { planPrefix: LOCAL_USAGE_PLAN_PREFIX }),
    close: () => client.destroy(),
  };
}

interface ReconcileInput {
  readonly dynamoDbUrl: string;
  readonly tableName: string;
  readonly plans: UsagePlanGateway;
  readonly settings: Pick<PolicySettings, 'tokenTypes'>;
}

/**
 * Gives every active token in the table its usage key (syncUsageKey as for a new token): after a
 * restart, the emulator's keys are gone but the tokens are not. Returns how many were assigned. A
 * token whose type is no longer configured is skipped (the consumer reports it the same way).
 */
export async function reconcileUsageKeys(
  input: ReconcileInput,
  onSkipped: (tokenId: string, error: unknown) => void,
): Promise<number> {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: input.dynamoDbUrl,
      region: LOCAL_AWS_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
  let assigned = 0;
  try {
    const pages = paginateScan(
      { client },
      {
        TableName: input.tableName,
        FilterExpression: '#entity = :token AND #state = :active',
        ExpressionAttributeNames: { '#entity': 'entity', '#state': 'state' },
        ExpressionAttributeValues: { ':token': 'token', ':active': 'active' },
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        if (!isTokenItem(item)) continue;
        const token = itemToToken(item);
        try {
          const outcome = await syncUsageKey(
            { plans: input.plans, settings: input.settings },
            { before: undefined, after: token },
          );
          if (outcome === 'assigned') assigned += 1;
        } catch (error) {
          onSkipped(token.id, error);
        }
      }
    }
  } finally {
    client.destroy();
  }
  return assigned;
}
