import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { processSqsRecords } from '../../../lambdas/runtime/sqs-batch.js';
import { captureLogs } from '../../support/proxy-events.js';

// The queue consumers' partial batch response: only the records whose work failed go back to SQS,
// and the log line names the message and the error's name, never its message.

const record = (messageId: string, body: string): SQSRecord =>
  ({ messageId, body, eventSource: 'aws:sqs' }) as SQSRecord;

describe('processSqsRecords', () => {
  it('reports only the failed records, each once, and logs no error message', async () => {
    const done: string[] = [];
    const logs = captureLogs();
    try {
      const response = await processSqsRecords(
        [record('m-1', 'ok'), record('m-2', 'fail'), record('m-3', 'ok')],
        async ({ messageId, body }) => {
          if (body === 'fail') throw new TypeError('secret-internal-detail');
          done.push(messageId);
        },
        'test work failed',
      );
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-2' }] });
      expect(done).toEqual(['m-1', 'm-3']);
      const failures = logs
        .lines()
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.message === 'test work failed');
      expect(failures).toEqual([expect.objectContaining({ messageId: 'm-2', errorName: 'TypeError' })]);
      expect(logs.lines().join('\n')).not.toContain('secret-internal-detail');
    } finally {
      logs.restore();
    }
  });

  it('an empty batch is an empty answer', async () => {
    await expect(processSqsRecords([], async () => {}, 'unused')).resolves.toEqual({ batchItemFailures: [] });
  });
});
