import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoOwnerContacts } from '../adapters/dynamo-owner-contacts.js';
import { DynamoTokenLookup } from '../adapters/dynamo-token-lookup.js';
import { DynamoExpiringTokensQuery } from '../adapters/expiring-tokens-query.js';
import { DynamoIdempotencyStore } from '../adapters/idempotency-store.js';
import { parseReminderTask } from '../adapters/sqs-reminder-queue.js';
import { SendPacer } from '../core/notifications/pacing.js';
import {
  parseReminderWindowDays,
  planReminders,
  REMINDER_RATE_SHARE,
  REMINDER_WORKERS,
  type ReminderWorkerDeps,
  runReminderTask,
} from '../core/notifications/reminders.js';
import { systemClock } from '../core/ports.js';
import { sharedDocumentClient } from '../runtime/clients.js';
import { ENV, optionalEnv, requireEnv } from '../runtime/env.js';
import { logger } from '../runtime/logger.js';
import { mailerFromEnv, sendRateFromEnv } from '../runtime/notifications.js';
import { reminderQueueFromEnv } from '../runtime/reminder-queue.js';
import { SDK_CALL_MAX_MS } from '../runtime/sdk-options.js';
import { processSqsRecords } from '../runtime/sqs-batch.js';
import { tableIndexesFromEnv } from '../runtime/table-indexes.js';

// The reminder job, one function with two triggers (lambdas/core/notifications/reminders.ts):
// - the daily schedule (EventBridge): plans the run, one task per expiry day of the window, on
//   the job's SQS queue;
// - that queue: each message is a task (a page of a day's tokens, or reminders to retry), done by
//   up to REMINDER_WORKERS workers at once, each paced to its share of SES's send rate. A task
//   that fails is retried by SQS, then parked in the job's dead-letter queue (which alarms).

/** A reminder is started only with this much of the invocation left (re-read, claim, send, mark). */
export const MIN_REMAINING_MS_PER_REMINDER = 4 * SDK_CALL_MAX_MS;

const tableName = requireEnv(ENV.tableName);
const windowDays = parseReminderWindowDays(optionalEnv(ENV.reminderWindowDays), ENV.reminderWindowDays);

const indexes = tableIndexesFromEnv();
const documentClient = sharedDocumentClient();
const queue = reminderQueueFromEnv();
const pacer = new SendPacer(sendRateFromEnv(), REMINDER_RATE_SHARE / REMINDER_WORKERS);
const worker: Omit<ReminderWorkerDeps, 'spareTimeMs'> = {
  windowDays,
  queue,
  tokens: new DynamoExpiringTokensQuery(documentClient, tableName, indexes),
  lookup: new DynamoTokenLookup(documentClient, tableName, (error, pk) =>
    logger.error('skipped a token item that does not parse', {
      pk,
      errorName: error instanceof Error ? error.name : typeof error,
    }),
  ),
  contacts: new DynamoOwnerContacts(documentClient, tableName),
  mailer: mailerFromEnv(),
  store: new DynamoIdempotencyStore(documentClient, tableName),
  clock: systemClock,
  beforeSend: () => pacer.acquire(),
  onFailure: (error, tokenId) =>
    logger.error('reminder failed; it goes back on the queue', {
      tokenId,
      errorName: error instanceof Error ? error.name : typeof error,
    }),
  onMaybeSent: (notification) =>
    logger.warn('maybe sent: a claim lapsed after its send attempt; not sending again, marked sent', {
      kind: notification.kind,
      subjectId: notification.subjectId,
    }),
  onCompleteFailed: (error, notification) =>
    logger.error('email sent, but recording it failed: it will count as maybe sent, never resent', {
      kind: notification.kind,
      subjectId: notification.subjectId,
      errorName: error instanceof Error ? error.name : typeof error,
    }),
};

function isSqsEvent(event: unknown): event is SQSEvent {
  const records = (event as { Records?: unknown })?.Records;
  return (
    Array.isArray(records) &&
    records.every((record) => (record as { eventSource?: unknown })?.eventSource === 'aws:sqs')
  );
}

export async function remind(
  event: unknown,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<SQSBatchResponse | { readonly plannedDays: number }> {
  if (!isSqsEvent(event)) {
    const { days } = await planReminders({ clock: systemClock, windowDays, queue });
    logger.info('reminder run planned', { windowDays, days: days.length });
    return { plannedDays: days.length };
  }
  const spareTimeMs = () => context.getRemainingTimeInMillis() - MIN_REMAINING_MS_PER_REMINDER;
  return processSqsRecords(
    event.Records,
    async (record) => {
      const task = parseReminderTask(record.body);
      const result = await runReminderTask({ ...worker, spareTimeMs }, task);
      logger.info('reminder task done', { type: task.type, day: task.day, ...result });
    },
    'reminder task failed; SQS delivers it again',
  );
}

export const handler = middy<unknown, SQSBatchResponse | { readonly plannedDays: number }>()
  .use(injectLambdaContext(logger, { logEvent: false }))
  .handler(remind);
