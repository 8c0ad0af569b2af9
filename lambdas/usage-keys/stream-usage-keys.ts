import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { errorFields } from '../adapters/error-fields.js';
import { decodeTokenChange, sequenceNumberOf, streamRecordFields } from '../adapters/stream-records.js';
import { type SyncUsageKeyDeps, syncUsageKey } from '../core/usage-keys/sync-usage-key.js';

// One stream batch of token item changes → each token's usage key created, moved or deleted
// (docs/rate-limits.md). Partial batch responses, as the expiry ledger's: records are handled in
// order, one at a time (API Gateway's management API has account-wide rate limits, and a token's
// changes must apply in order); the first one that fails is reported together with every record
// after it (not attempted), so Lambda checkpoints before it and delivers it and the rest again.
// Every effect is idempotent, so redelivering what had been done changes nothing. A record is
// started only with enough of the invocation left for its slowest case (the adapter's bounded
// throttling retries, e.g. UpdateUsagePlan's 1 call per 20 s); otherwise the rest is reported.

/** One JSON line per call; Powertools' Logger is one. */
interface UsageKeysLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

interface StreamUsageKeysDeps extends SyncUsageKeyDeps {
  readonly logger: UsageKeysLogger;
}

/** The slowest record: a new override plan (three calls and UpdateUsagePlan's retries), then the key. */
const MIN_REMAINING_MS_PER_RECORD = 90_000;

type StreamUsageKeys = (
  event: DynamoDBStreamEvent,
  /** The invocation's remaining time (Lambda's context.getRemainingTimeInMillis). */
  remainingTimeMs?: () => number,
) => Promise<DynamoDBBatchResponse>;

export function createStreamUsageKeys(deps: StreamUsageKeysDeps): StreamUsageKeys {
  const { logger } = deps;
  return async (streamEvent, remainingTimeMs = () => Number.POSITIVE_INFINITY) => {
    const records = streamEvent.Records;
    for (const [index, record] of records.entries()) {
      if (remainingTimeMs() < MIN_REMAINING_MS_PER_RECORD) {
        logger.warn('usage keys: out of time; the rest of the batch will be delivered again', {
          ...streamRecordFields(record),
          reportedRecords: records.length - index,
        });
        return failuresFrom(records, index);
      }
      let tokenId: string | null = null;
      try {
        const change = decodeTokenChange(record);
        if (change === undefined) continue;
        tokenId = (change.newToken ?? change.oldToken)?.id ?? null;
        const outcome = await syncUsageKey(deps, { before: change.oldToken, after: change.newToken });
        if (outcome !== 'unchanged') {
          logger.info(`usage keys: key ${outcome}`, {
            tokenId,
            eventName: change.eventName,
            ...streamRecordFields(record),
          });
        }
      } catch (error) {
        logger.error('usage keys: sync failed; the record will be retried', {
          tokenId,
          ...streamRecordFields(record),
          ...errorFields(error),
          reportedRecords: records.length - index,
        });
        return failuresFrom(records, index);
      }
    }
    return { batchItemFailures: [] };
  };
}

function failuresFrom(records: readonly DynamoDBRecord[], index: number): DynamoDBBatchResponse {
  return {
    batchItemFailures: records.slice(index).map((item) => ({ itemIdentifier: sequenceNumberOf(item) })),
  };
}
