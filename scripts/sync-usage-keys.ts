import { parseArgs } from 'node:util';
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { scanActiveTokens } from '../lambdas/adapters/active-token-scan.js';
import { ApiGatewayUsagePlans } from '../lambdas/adapters/api-gateway-usage-plans.js';
import { reconcileUsageKeys } from '../lambdas/core/usage-keys/reconcile-usage-keys.js';
import { sdkClientConfig } from '../lambdas/runtime/sdk-options.js';
import { deploymentConfigOf } from '../local/deployment-config.js';

// `npm run sync:usage-keys -- --table <UsageKeysTableName output> --plan-prefix <stack name>`
// Gives every active token of a deployment its usage key (docs/rate-limits.md, "Upgrading an
// existing deployment"): tokens created before usage keys existed have none, and a REST API wired to
// the plans answers them 503 TOKEN_NOT_READY until they do. Runs with the operator's AWS credentials
// and Region (AWS_PROFILE / AWS_REGION) and the token types of this checkout's cdk.json (the ones
// deployed). Idempotent: safe to run again, or while the stream consumer runs. API Gateway allows 5
// CreateApiKey calls per second; the adapter waits and retries when throttled, so 9,000 tokens take
// about half an hour.

const { values } = parseArgs({
  options: { table: { type: 'string' }, 'plan-prefix': { type: 'string' } },
});
const tableName = values.table;
const planPrefix = values['plan-prefix'];
if (tableName === undefined || planPrefix === undefined) {
  console.error(
    'usage: npm run sync:usage-keys -- --table <UsageKeysTableName output> --plan-prefix <stack name>',
  );
  process.exit(2);
}

const settings = deploymentConfigOf(process.cwd()).policy;
const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(sdkClientConfig()));
const apiGateway = new APIGatewayClient(sdkClientConfig());
try {
  const outcome = await reconcileUsageKeys(
    { plans: new ApiGatewayUsagePlans(apiGateway, { planPrefix }), settings },
    scanActiveTokens(dynamo, tableName),
    (tokenId, error) =>
      console.error(`${tokenId}: not synced: ${error instanceof Error ? error.message : String(error)}`),
  );
  console.log(`usage keys: ${outcome.assigned} assigned, ${outcome.failed} failed`);
  process.exitCode = outcome.failed === 0 ? 0 : 1;
} finally {
  dynamo.destroy();
  apiGateway.destroy();
}
