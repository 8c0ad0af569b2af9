import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import type { ReminderQueue, ReminderTask } from '../core/notifications/reminders.js';

// The reminder job's work queue (SQS): one message per task, ten per SendMessageBatch. A retry task
// waits a while before it is delivered (longer at each attempt), so that a throttled SES or a
// failing address is not hammered.

const BATCH_LIMIT = 10;
/** Delay of a retry task: a minute per attempt, at most SQS's 15 minutes. */
const retryDelaySeconds = (attempt: number) => Math.min(900, 60 * attempt);

const taskSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('page'), day: z.string(), cursor: z.string().optional() }),
  z.object({
    type: z.literal('retry'),
    day: z.string(),
    tokenIds: z.array(z.string()).min(1),
    attempt: z.number().int().min(0),
  }),
]);

export function parseReminderTask(body: string): ReminderTask {
  return taskSchema.parse(JSON.parse(body));
}

export class SqsReminderQueue implements ReminderQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(tasks: readonly ReminderTask[]): Promise<void> {
    for (let start = 0; start < tasks.length; start += BATCH_LIMIT) {
      const batch = tasks.slice(start, start + BATCH_LIMIT);
      const output = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((task, index) => ({
            Id: String(index),
            MessageBody: JSON.stringify(task),
            ...(task.type === 'retry' ? { DelaySeconds: retryDelaySeconds(task.attempt) } : {}),
          })),
        }),
      );
      const failed = output.Failed ?? [];
      if (failed.length > 0) {
        throw new Error(
          `${failed.length} reminder task(s) not queued: ${failed.map((f) => f.Code).join(', ')}`,
        );
      }
    }
  }
}
