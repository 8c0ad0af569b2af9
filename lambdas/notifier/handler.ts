import { DynamoBulkRevocationTokens } from '../adapters/bulk-revocation-query.js';
import { DynamoOwnerContacts } from '../adapters/dynamo-owner-contacts.js';
import { DynamoIdempotencyStore } from '../adapters/idempotency-store.js';
import { SendPacer } from '../core/notifications/pacing.js';
import { systemClock } from '../core/ports.js';
import { sharedDocumentClient } from '../runtime/clients.js';
import { ENV, optionalEnv, requireEnv } from '../runtime/env.js';
import { logger } from '../runtime/logger.js';
import { mailerFromEnv, sendRateFromEnv } from '../runtime/notifications.js';
import { tableIndexesFromEnv } from '../runtime/table-indexes.js';
import { notifierFunction } from './function.js';

// The notifier: the table's stream (token items, contact items and revoke-all summaries, by the
// event source's filter) → emails through SES, paced to SES's send rate. Partial batch responses: a
// record whose email failed is reported and retried; the rest of the batch is not. See
// stream-notifier.ts. Env → deps → handler (function.ts).

const tableName = requireEnv(ENV.tableName);
const documentClient = sharedDocumentClient();

export const handler = notifierFunction({
  mailer: mailerFromEnv(),
  store: new DynamoIdempotencyStore(documentClient, tableName),
  contacts: new DynamoOwnerContacts(documentClient, tableName),
  bulkTokens: new DynamoBulkRevocationTokens(documentClient, tableName, undefined, tableIndexesFromEnv()),
  pacer: new SendPacer(sendRateFromEnv()),
  clock: systemClock,
  logger,
  replicated: optionalEnv(ENV.globalTable) === 'true',
});
