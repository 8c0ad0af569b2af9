import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { type TokenEvent, tokenEventFromChange } from '../core/notifications/events.js';
import { deliverOnce, type NotifierDeps } from '../core/notifications/notifier.js';
import { decodeTokenChange } from './stream-records.js';

// One stream batch → emails, with partial batch responses. Records are handled in order; the first
// one whose email fails stops the batch and is reported together with every record after it (they
// were not attempted). Lambda checkpoints before the first reported record and delivers it again
// (bisecting the batch, up to the retry budget, then the on-failure destination); the
// idempotency records make the redelivery of anything already sent a no-op. Stopping at the first
// failure keeps one token's emails in order (created before revoked) and stops hammering SES while
// it throttles. Records that need no email succeed.

export type NotifierLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface StreamNotifierDeps extends NotifierDeps {
  readonly logger: NotifierLogger;
}

/**
 * A record is started only with at least this much of the invocation left: more than one delivery
 * can take (claim, SES with its timeouts and retries, mark), so the function never times out in the
 * middle of one and leaves a claim behind that blocks the retry until its lease lapses.
 */
export const MIN_REMAINING_MS_PER_RECORD = 20_000;

function describeEvent(event: TokenEvent, record: DynamoDBRecord): Record<string, unknown> {
  return {
    kind: event.kind,
    tokenId: event.token.id,
    actor: event.actor,
    eventID: record.eventID,
    sequenceNumber: record.dynamodb?.SequenceNumber,
  };
}

export type StreamNotifier = (
  event: DynamoDBStreamEvent,
  /** The invocation's remaining time (Lambda's context.getRemainingTimeInMillis). */
  remainingTimeMs?: () => number,
) => Promise<DynamoDBBatchResponse>;

export function createStreamNotifier(deps: StreamNotifierDeps): StreamNotifier {
  const { logger } = deps;
  const notifier: NotifierDeps = {
    ...deps,
    onCompleteFailed: (error, event) =>
      logger.warn('email sent, but recording it failed', {
        kind: event.kind,
        tokenId: event.token.id,
        errorName: error instanceof Error ? error.name : typeof error,
      }),
  };

  return async (streamEvent, remainingTimeMs = () => Number.POSITIVE_INFINITY) => {
    const records = streamEvent.Records;
    for (const [index, record] of records.entries()) {
      if (remainingTimeMs() < MIN_REMAINING_MS_PER_RECORD) {
        const deferred = records.slice(index);
        logger.warn('out of time; the rest of the batch will be delivered again', {
          deferredRecords: deferred.length,
        });
        return { batchItemFailures: deferred.map((item) => ({ itemIdentifier: sequenceNumberOf(item) })) };
      }
      let tokenEvent: TokenEvent | undefined;
      try {
        const change = decodeTokenChange(record);
        tokenEvent = change === undefined ? undefined : tokenEventFromChange(change);
        if (tokenEvent === undefined) continue;
        const outcome = await deliverOnce(tokenEvent, notifier);
        logger.info(outcome.status === 'sent' ? 'notification sent' : 'notification already sent', {
          ...describeEvent(tokenEvent, record),
          ...(outcome.status === 'sent' ? { messageId: outcome.messageId } : {}),
        });
      } catch (error) {
        const failed = records.slice(index);
        logger.error('notification failed; the record will be retried', {
          ...(tokenEvent === undefined
            ? { eventID: record.eventID, sequenceNumber: record.dynamodb?.SequenceNumber }
            : describeEvent(tokenEvent, record)),
          ...errorFields(error),
          reportedRecords: failed.length,
        });
        return { batchItemFailures: failed.map((item) => ({ itemIdentifier: sequenceNumberOf(item) })) };
      }
    }
    return { batchItemFailures: [] };
  };
}

/**
 * What a log line says about an error: its name, and for AWS service errors the HTTP status and
 * fault, but not their message (SES puts recipient addresses in some); for our own errors (a token
 * image that does not parse) the message, which names fields, not values.
 */
export function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { errorName: typeof error };
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown }; $fault?: unknown }).$metadata;
  if (metadata !== undefined) {
    return {
      errorName: error.name,
      httpStatusCode: metadata.httpStatusCode,
      fault: (error as { $fault?: unknown }).$fault,
    };
  }
  return { errorName: error.name, errorMessage: error.message.slice(0, 500) };
}

function sequenceNumberOf(record: DynamoDBRecord): string {
  const sequenceNumber = record.dynamodb?.SequenceNumber;
  // Lambda always sends one; without it the record cannot be reported, so fail the whole batch.
  if (sequenceNumber === undefined)
    throw new Error(`stream record ${record.eventID ?? '?'} has no SequenceNumber`);
  return sequenceNumber;
}
