import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { parseRevokeAllMessage } from '../adapters/sqs-revoke-all-continuation.js';
import { runRevokeAllSlice, WORKER_SLICE_MS } from '../core/revoke-all-job.js';
import { logger } from '../runtime/logger.js';
import { revokeAllJobDepsFromEnv } from '../runtime/revoke-all-jobs.js';
import { processSqsRecords } from '../runtime/sqs-batch.js';

// The revoke-all jobs' queue consumer: each message is a job with work left; a slice of it runs
// here (WORKER_SLICE_MS, well inside the function's timeout) and queues the job again while
// tokens are left. A failed slice is retried by SQS (it is idempotent), then parked in the
// queue's dead-letter queue.

const deps = revokeAllJobDepsFromEnv();

export function processRevokeAllMessages(event: SQSEvent): Promise<SQSBatchResponse> {
  return processSqsRecords(
    event.Records,
    async (record) => {
      const job = await runRevokeAllSlice(deps, parseRevokeAllMessage(record.body), WORKER_SLICE_MS);
      logger.info('revoke-all job slice', { jobId: job.jobId, status: job.status, revoked: job.revoked });
    },
    'revoke-all job slice failed',
  );
}

export const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>(processRevokeAllMessages).use(
  injectLambdaContext(logger),
);
