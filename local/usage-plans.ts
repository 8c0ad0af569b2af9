import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { scanActiveTokens } from '../lambdas/adapters/active-token-scan.js';
import { ApiGatewayUsagePlans } from '../lambdas/adapters/api-gateway-usage-plans.js';
import type { UsagePlanGateway } from '../lambdas/core/ports.js';
import type { PolicySettings } from '../lambdas/core/settings.js';
import { typeLimitsOf } from '../lambdas/core/settings.js';
import { reconcileUsageKeys } from '../lambdas/core/usage-keys/reconcile-usage-keys.js';
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
// given its key again (reconcileLocalUsageKeys), through the same use case and adapter as the consumer.
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
 * Gives every active token in the table its usage key (lambdas/core/usage-keys/reconcile-usage-keys.ts):
 * after a restart, the emulator's keys are gone but the tokens are not. Returns how many were
 * assigned; a token that cannot be (its type is no longer configured) is reported to `onSkipped`.
 */
export async function reconcileLocalUsageKeys(
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
  try {
    const { assigned } = await reconcileUsageKeys(
      { plans: input.plans, settings: input.settings },
      scanActiveTokens(client, input.tableName),
      onSkipped,
    );
    return assigned;
  } finally {
    client.destroy();
  }
}
