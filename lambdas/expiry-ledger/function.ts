import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import type { TokenRepository } from '../core/ports.js';
import { logger } from '../runtime/logger.js';
import { createExpiryLedger } from './ledger.js';

// The expiry ledger: the table's stream, filtered by the event source to TTL deletions of token
// items → limit slot released and `token.expired` audited, once. Partial batch responses; see
// ledger.ts. handler.ts builds the repository from the environment; tests pass their own.

export function expiryLedgerFunction(deps: {
  readonly repository: TokenRepository;
  /** A global table's home stack (docs/regions.md). @default false */
  readonly replicated?: boolean;
}) {
  const ledger = createExpiryLedger({
    repository: deps.repository,
    logger,
    ...(deps.replicated === undefined ? {} : { replicated: deps.replicated }),
  });
  return middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
    .use(injectLambdaContext(logger, { logEvent: false }))
    .handler((event) => ledger(event));
}
