import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import type { RevokeAllContinuation } from '../core/revoke-all-job.js';

// The revoke-all jobs' work queue (SQS): a message names a job with work left; the worker
// (lambdas/revoke-all-tokens/worker.ts) runs a slice of it and queues the job again if needed.

const messageSchema = z.object({ jobId: z.string().min(1) }).strict();

export function parseRevokeAllMessage(body: string): string {
  return messageSchema.parse(JSON.parse(body)).jobId;
}

export class SqsRevokeAllContinuation implements RevokeAllContinuation {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async continueLater(jobId: string): Promise<void> {
    await this.client.send(
      new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify({ jobId }) }),
    );
  }
}
