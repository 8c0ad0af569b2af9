import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SESClient } from '@aws-sdk/client-ses';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { DynamoExpiringTokensQuery } from '../adapters/expiring-tokens-query.js';
import { DynamoIdempotencyStore } from '../adapters/idempotency-store.js';
import { SES_CLIENT_CONFIG, SesMailer } from '../adapters/ses-mailer.js';
import {
  parseReminderWindowDays,
  type ReminderRunResult,
  runReminders,
} from '../core/notifications/reminders.js';
import { systemClock } from '../core/ports.js';
import { sharedDocumentClient } from '../runtime/clients.js';
import { ENV, optionalEnv, requireEnv } from '../runtime/env.js';
import { logger } from '../runtime/logger.js';

// The daily reminder job (EventBridge schedule): every active token that expires within the window
// gets one reminder, however often the job runs. If any reminder failed, the run fails after trying
// all of them, so the asynchronous invocation is retried (sending only what is still missing) and
// ends in the job's dead-letter queue if it keeps failing; the next day's run tries again anyway.

const tableName = requireEnv(ENV.tableName);
const senderAddress = requireEnv(ENV.notificationSenderAddress);
const windowDays = parseReminderWindowDays(optionalEnv(ENV.reminderWindowDays), ENV.reminderWindowDays);

const documentClient = sharedDocumentClient();
const mailer = new SesMailer(new SESClient(SES_CLIENT_CONFIG), { senderAddress });
const store = new DynamoIdempotencyStore(documentClient, tableName);
const tokens = new DynamoExpiringTokensQuery(documentClient, tableName, (error, pk) =>
  logger.error('skipped a token item that does not parse', {
    pk,
    errorName: error instanceof Error ? error.name : typeof error,
  }),
);

export class ReminderRunFailedError extends Error {
  constructor(readonly result: ReminderRunResult) {
    super(
      result.complete
        ? `${result.failed} reminder(s) could not be sent`
        : `the run stopped for lack of time (${result.failed} reminder(s) failed); its retry carries on`,
    );
    this.name = 'ReminderRunFailedError';
  }
}

export async function remind(
  _event: unknown,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<ReminderRunResult> {
  const result = await runReminders({
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
    tokens,
    mailer,
    store,
    clock: systemClock,
    windowDays,
    onFailure: (error, token) =>
      logger.error('reminder failed', {
        tokenId: token.id,
        errorName: error instanceof Error ? error.name : typeof error,
      }),
  });
  logger.info('reminder run finished', { windowDays, ...result });
  if (result.failed > 0 || !result.complete) throw new ReminderRunFailedError(result);
  return result;
}

export const handler = middy<unknown, ReminderRunResult>()
  .use(injectLambdaContext(logger, { logEvent: false }))
  .handler(remind);
