import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { EXPIRY_LEDGER_FILTER_PATTERN } from '../lambdas/expiry-ledger/filter.js';
import { NOTIFIER_FILTER_PATTERNS } from '../lambdas/notifier/filter.js';
import { FUNCTION_ENTRIES } from '../lib/function-entries.js';
import type { LocalComponent } from './components.js';
import { filterOf } from './event-filter.js';
import { LOCAL_AWS_REGION } from './handler-environment.js';
import { type LocalFunction, loadLambdaFunction, localFunction } from './lambda-runtime.js';
import { type StreamConsumer, startStreamPoller } from './stream-poller.js';

// Feeds the table's stream to its consumers as Lambda's event source mappings would, each with the
// filter criteria deployed: the notifier (token items, contact items and revoke-all summaries, so
// an email shows up on the SES emulator's page a moment after a token is created or revoked) and
// the expiry ledger (only TTL deletions of token items). Each consumer keeps its own position and
// retries.
export const notifierComponent: LocalComponent = {
  name: 'stream poller (notifier, expiry ledger)',
  async start(context) {
    const load = async (name: string, entry: string, timeoutMs: number) =>
      localFunction(
        `access-tokens-local-${name}`,
        entry,
        await loadLambdaFunction(context.rootDir, entry),
        timeoutMs,
      );
    const notifier = await load('notifier', FUNCTION_ENTRIES.notifier, 300_000);
    const expiryLedger = await load('expiryLedger', FUNCTION_ENTRIES.expiryLedger, 30_000);
    const poller = await startStreamPoller({
      dynamoEndpoint: context.urls.dynamoDb,
      tableName: context.tableName,
      region: LOCAL_AWS_REGION,
      intervalMs: 250,
      consumers: streamConsumers(notifier, expiryLedger),
      onError: (error, where) =>
        context.log(`stream poller: ${where}: ${error instanceof Error ? error.message : String(error)}`),
    });
    return { stop: () => poller.stop() };
  },
};

/** The stream's consumers in the local stack, as the deployed stack maps them. */
export function streamConsumers(notifier: LocalFunction, expiryLedger: LocalFunction): StreamConsumer[] {
  const invoke = (fn: LocalFunction) => async (event: unknown) =>
    (await fn.invoke(event)) as DynamoDBBatchResponse | undefined;
  const isTtlDeletionOfToken = filterOf(EXPIRY_LEDGER_FILTER_PATTERN);
  const notifierFilters = NOTIFIER_FILTER_PATTERNS.map((pattern) => filterOf(pattern));
  return [
    {
      name: 'notifier',
      handler: invoke(notifier),
      filter: (record: DynamoDBRecord) => notifierFilters.some((matches) => matches(record)),
    },
    {
      name: 'expiry ledger',
      handler: invoke(expiryLedger),
      filter: (record: DynamoDBRecord) => isTtlDeletionOfToken(record),
    },
  ];
}
