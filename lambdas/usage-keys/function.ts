import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import type { SyncUsageKeyDeps } from '../core/usage-keys/sync-usage-key.js';
import { logger } from '../runtime/logger.js';
import { createStreamUsageKeys } from './stream-usage-keys.js';

// The usage-key consumer: the table's stream, filtered by the event source to token items (filter.ts)
// → each token's API Gateway usage key kept in step (stream-usage-keys.ts). handler.ts builds the
// deps from the environment; tests pass their own.

export function usageKeysFunction(deps: Pick<SyncUsageKeyDeps, 'plans' | 'settings'>) {
  const sync = createStreamUsageKeys({ plans: deps.plans, settings: deps.settings, logger });
  return middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
    .use(injectLambdaContext(logger, { logEvent: false }))
    .handler((event, context) => sync(event, () => context.getRemainingTimeInMillis()));
}
