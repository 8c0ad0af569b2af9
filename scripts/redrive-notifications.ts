import { parseArgs } from 'node:util';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { sdkClientConfig } from '../lambdas/runtime/sdk-options.js';
import { redrive } from './redrive/redrive.js';

// `npm run redrive:notifications -- --queue-url <NotificationDeadLetterQueueUrl> --function <notifier>`
// Replays the notifier's dead-letter queue through the deployed notifier (scripts/redrive/redrive.ts),
// with the operator's AWS credentials and Region (the usual AWS_PROFILE / AWS_REGION). Run it within
// 24 hours of the failures: the stream keeps its records that long. `--dry-run` reads and counts.

const { values } = parseArgs({
  options: {
    'queue-url': { type: 'string' },
    function: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    'delete-expired': { type: 'boolean', default: false },
    'max-messages': { type: 'string' },
  },
});

const queueUrl = values['queue-url'];
const functionName = values.function;
if (queueUrl === undefined || functionName === undefined) {
  console.error(
    'usage: npm run redrive:notifications -- --queue-url <NotificationDeadLetterQueueUrl> --function <notifier function name or ARN> [--dry-run] [--delete-expired] [--max-messages N]',
  );
  process.exit(2);
}
const maxMessages = values['max-messages'] === undefined ? undefined : Number(values['max-messages']);

const clients = {
  sqs: new SQSClient(sdkClientConfig()),
  streams: new DynamoDBStreamsClient(sdkClientConfig()),
  // A notifier invocation may run up to its 5-minute timeout.
  lambda: new LambdaClient({
    ...sdkClientConfig(),
    requestHandler: { ...sdkClientConfig().requestHandler, requestTimeout: 330_000, socketTimeout: 330_000 },
  }),
};
try {
  const report = await redrive(clients, {
    queueUrl,
    functionName,
    dryRun: values['dry-run'],
    deleteExpired: values['delete-expired'],
    ...(maxMessages === undefined ? {} : { maxMessages }),
    log: (line) => console.log(line),
  });
  console.log(
    `messages ${report.messages}: replayed ${report.replayed} (${report.records} records), failed again ${report.failed}, expired ${report.expired}, unreadable ${report.unreadable}`,
  );
  process.exitCode = report.failed + report.expired + report.unreadable === 0 ? 0 : 1;
} finally {
  for (const client of Object.values(clients)) client.destroy();
}
