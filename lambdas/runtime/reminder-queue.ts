import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsReminderQueue } from '../adapters/sqs-reminder-queue.js';
import { ENV, requireEnv } from './env.js';
import { sdkClientConfig } from './sdk-options.js';

// A module of its own so that only the reminder job's bundle carries the SQS client.
/** The reminder job's own queue (its tasks), on an SQS client of its own. */
export function reminderQueueFromEnv(env: NodeJS.ProcessEnv = process.env): SqsReminderQueue {
  return new SqsReminderQueue(new SQSClient(sdkClientConfig()), requireEnv(ENV.reminderQueueUrl, env));
}
