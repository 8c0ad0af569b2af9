import type { DynamoDBBatchResponse } from 'aws-lambda';
import { FUNCTION_ENTRIES } from '../lambdas/routes.js';
import type { LocalComponent } from './components.js';
import { LOCAL_AWS_REGION } from './handler-environment.js';
import { loadLambdaFunction, localFunction } from './lambda-runtime.js';
import { startStreamPoller } from './stream-poller.js';

// Feeds the notifier the table's stream as Lambda's event source mapping would, so an email shows
// up on the SES emulator's page a moment after a token is created or revoked.
export const notifierComponent: LocalComponent = {
  name: 'stream poller (notifier)',
  async start(context) {
    const notifier = localFunction(
      'access-tokens-local-notifier',
      FUNCTION_ENTRIES.notifier,
      await loadLambdaFunction(context.rootDir, FUNCTION_ENTRIES.notifier),
      60_000,
    );
    const poller = await startStreamPoller({
      dynamoEndpoint: context.urls.dynamoDb,
      tableName: context.tableName,
      region: LOCAL_AWS_REGION,
      intervalMs: 250,
      handler: async (event) => (await notifier.invoke(event)) as DynamoDBBatchResponse | undefined,
      onError: (error, where) =>
        context.log(`stream poller: ${where}: ${error instanceof Error ? error.message : String(error)}`),
    });
    return { stop: () => poller.stop() };
  },
};
