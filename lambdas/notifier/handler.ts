import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SESClient } from '@aws-sdk/client-ses';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { DynamoIdempotencyStore } from '../adapters/idempotency-store.js';
import { SES_CLIENT_CONFIG, SesMailer } from '../adapters/ses-mailer.js';
import { systemClock } from '../core/ports.js';
import { sharedDocumentClient } from '../runtime/clients.js';
import { ENV, requireEnv } from '../runtime/env.js';
import { logger } from '../runtime/logger.js';
import { createStreamNotifier } from './stream-notifier.js';

// The notifier: the table's stream (token items only, by the event source's filter) → one email per
// token event, through SES. Partial batch responses: a record whose email failed is reported and
// retried; the rest of the batch is not lost. See stream-notifier.ts.

const tableName = requireEnv(ENV.tableName);
const senderAddress = requireEnv(ENV.notificationSenderAddress);

const notify = createStreamNotifier({
  mailer: new SesMailer(new SESClient(SES_CLIENT_CONFIG), { senderAddress }),
  store: new DynamoIdempotencyStore(sharedDocumentClient(), tableName),
  clock: systemClock,
  logger,
});

export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
  .use(injectLambdaContext(logger, { logEvent: false }))
  .handler((event, context) => notify(event, () => context.getRemainingTimeInMillis()));
