import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { DynamoTokenRepository } from '../adapters/dynamo-token-repository.js';
import { sharedDocumentClient } from '../runtime/clients.js';
import { ENV, requireEnv } from '../runtime/env.js';
import { logger } from '../runtime/logger.js';
import { policySettingsFromEnv } from '../runtime/settings.js';
import { createExpiryLedger } from './ledger.js';

// The expiry ledger: the table's stream, filtered by the event source to TTL deletions of token
// items → limit slot released and `token.expired` audited, once. Partial batch responses; see
// ledger.ts.

const repository = new DynamoTokenRepository(sharedDocumentClient(), requireEnv(ENV.tableName), {
  auditRetentionDays: policySettingsFromEnv().auditRetentionDays,
});

const ledger = createExpiryLedger({ repository, logger });

export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
  .use(injectLambdaContext(logger, { logEvent: false }))
  .handler((event) => ledger(event));
