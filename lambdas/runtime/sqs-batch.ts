import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { logger } from './logger.js';

/**
 * SQS partial batch responses (`ReportBatchItemFailures`), for the queue consumers: each record's
 * work in turn; a record whose work throws is logged (`failureMessage`, its message id and the
 * error's name only: an SDK message can quote the request) and reported, so SQS delivers that one
 * again and not the rest. Hand-written: eight lines, where Powertools' batch processor would add a
 * dependency to two functions for the same loop.
 */
export async function processSqsRecords(
  records: readonly SQSRecord[],
  work: (record: SQSRecord) => Promise<void>,
  failureMessage: string,
): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of records) {
    try {
      await work(record);
    } catch (error) {
      logger.error(failureMessage, {
        messageId: record.messageId,
        errorName: error instanceof Error ? error.name : typeof error,
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
