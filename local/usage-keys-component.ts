import type { DynamoDBBatchResponse } from 'aws-lambda';
import { USAGE_KEYS_FILTER_PATTERN } from '../lambdas/usage-keys/filter.js';
import type { LocalComponent } from './components.js';
import { filterOf } from './event-filter.js';
import { LOCAL_AWS_REGION } from './handler-environment.js';
import { loadLambdaFunction, localFunction } from './lambda-runtime.js';
import { startStreamPoller } from './stream-poller.js';
import { localUsagePlans, reconcileLocalUsageKeys } from './usage-plans.js';

// The usage-key consumer on the local stream (docs/rate-limits.md "Local emulation"): the deployed
// function's handler (lambdas/usage-keys/handler.ts) with its deployed filter, fed by a stream
// poller of its own like the notifier's, calling the emulated API Gateway through the gateway (so
// it starts after the gateway). Then every active token already in the table gets its key
// (local/usage-plans.ts, reconcileLocalUsageKeys): the emulator's state does not survive a restart. The
// poller starts first, so a change made while the table is read is not missed (both are idempotent).

/** The consumer's entry (lib/function-entries.ts names the deployed one). */
const USAGE_KEYS_ENTRY = 'lambdas/usage-keys/handler.ts';

export const usageKeysComponent: LocalComponent = {
  name: 'usage keys (stream consumer, reconciliation)',
  async start(context) {
    const consumer = localFunction(
      'access-tokens-local-usageKeys',
      USAGE_KEYS_ENTRY,
      await loadLambdaFunction(context.rootDir, USAGE_KEYS_ENTRY),
      // As deployed: room for its slowest record (API Gateway's throttling retries).
      300_000,
    );
    const matches = filterOf(USAGE_KEYS_FILTER_PATTERN);
    const poller = await startStreamPoller({
      dynamoEndpoint: context.urls.dynamoDb,
      tableName: context.tableName,
      region: LOCAL_AWS_REGION,
      intervalMs: 250,
      consumers: [
        {
          name: 'usage keys',
          handler: async (event) => (await consumer.invoke(event)) as DynamoDBBatchResponse | undefined,
          filter: (record) => matches(record),
        },
      ],
      onError: (error, where) =>
        context.log(`stream poller: ${where}: ${error instanceof Error ? error.message : String(error)}`),
    });
    const { plans, close } = localUsagePlans(context.urls.gateway);
    try {
      const assigned = await reconcileLocalUsageKeys(
        {
          dynamoDbUrl: context.urls.dynamoDb,
          tableName: context.tableName,
          plans,
          settings: context.policy,
        },
        (tokenId, error) =>
          context.log(
            `usage key of token ${tokenId} not assigned: ${error instanceof Error ? error.message : String(error)}`,
          ),
      );
      if (assigned > 0) context.log(`usage keys: ${assigned} active token(s) given their key again`);
    } catch (error) {
      await poller.stop();
      throw error;
    } finally {
      close();
    }
    return { stop: () => poller.stop() };
  },
};
