import {
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamsRecord,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { NOTIFIER_FILTER_PATTERNS } from '../../lambdas/notifier/filter.js';
import { filterOf } from '../../local/event-filter.js';
import { toLambdaRecord } from '../../local/stream-poller.js';

// Replays the notifier's dead-letter queue: each message there is Lambda's on-failure record of a
// stream batch that used up its retries (the shard, the first and last sequence numbers, the
// stream ARN), not the records themselves. For each message this reads that range from the stream
// again (DynamoDB Streams keeps records 24 hours), filters it as the event source mapping does,
// and invokes the deployed notifier with the same DynamoDBStreamEvent Lambda would deliver. The
// notifier's idempotency records make the replay safe: what was sent is skipped, what was maybe
// sent is not sent again. A message is deleted only when its whole range was delivered without a
// reported failure; one whose range has left the stream is reported (and kept, unless asked).

interface StreamBatchInfo {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly streamArn: string;
}

/** The stream range in an on-failure destination message, or undefined when it has none. */
export function batchInfoOf(body: string): StreamBatchInfo | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const info = (parsed as { DDBStreamBatchInfo?: Record<string, unknown> } | null)?.DDBStreamBatchInfo;
  const { shardId, startSequenceNumber, endSequenceNumber, streamArn } = info ?? {};
  if (
    typeof shardId !== 'string' ||
    typeof startSequenceNumber !== 'string' ||
    typeof endSequenceNumber !== 'string' ||
    typeof streamArn !== 'string'
  ) {
    return undefined;
  }
  return { shardId, startSequenceNumber, endSequenceNumber, streamArn };
}

interface RedriveClients {
  readonly sqs: SQSClient;
  readonly streams: DynamoDBStreamsClient;
  readonly lambda: LambdaClient;
}

interface RedriveOptions {
  readonly queueUrl: string;
  /** The notifier function (name or ARN). */
  readonly functionName: string;
  /** Read and report, invoke nothing, delete nothing. */
  readonly dryRun?: boolean;
  /** Delete messages whose range has left the stream (they cannot be replayed). */
  readonly deleteExpired?: boolean;
  /** Records per invocation. @default 10, as the event source mapping */
  readonly batchSize?: number;
  /** Stop after this many messages. @default all */
  readonly maxMessages?: number;
  readonly log?: (line: string) => void;
}

interface RedriveReport {
  readonly messages: number;
  readonly replayed: number;
  readonly records: number;
  readonly expired: number;
  readonly failed: number;
  readonly unreadable: number;
}

/** Stream sequence numbers are decimal strings of up to 40 digits: compare as integers. */
const sequence = (value: string | undefined) => BigInt(value ?? '0');

/** The records of [start, end] in one shard, in Lambda's shape. Throws TrimmedDataAccessException when gone. */
async function readRange(streams: DynamoDBStreamsClient, info: StreamBatchInfo): Promise<DynamoDBRecord[]> {
  const region = info.streamArn.split(':')[3] ?? 'us-east-1';
  const end = sequence(info.endSequenceNumber);
  const { ShardIterator } = await streams.send(
    new GetShardIteratorCommand({
      StreamArn: info.streamArn,
      ShardId: info.shardId,
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      SequenceNumber: info.startSequenceNumber,
    }),
  );
  const records: DynamoDBRecord[] = [];
  let iterator = ShardIterator;
  // An open shard can answer empty pages before the range's end; a bounded number of them.
  for (let emptyPages = 0; iterator !== undefined && emptyPages < 10; ) {
    const output: { Records?: StreamsRecord[]; NextShardIterator?: string } = await streams.send(
      new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }),
    );
    const page = output.Records ?? [];
    emptyPages = page.length === 0 ? emptyPages + 1 : 0;
    for (const record of page) {
      if (sequence(record.dynamodb?.SequenceNumber) > end) return records;
      records.push(toLambdaRecord(record, info.streamArn, region));
    }
    if (page.length > 0 && sequence(page.at(-1)?.dynamodb?.SequenceNumber) >= end) return records;
    iterator = output.NextShardIterator;
  }
  return records;
}

const notifierFilters = NOTIFIER_FILTER_PATTERNS.map((pattern) => filterOf(pattern));
const reachesNotifier = (record: DynamoDBRecord) => notifierFilters.some((matches) => matches(record));

async function invokeNotifier(
  lambda: LambdaClient,
  functionName: string,
  records: readonly DynamoDBRecord[],
): Promise<boolean> {
  const output = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'RequestResponse',
      Payload: Buffer.from(JSON.stringify({ Records: records })),
    }),
  );
  if (output.FunctionError !== undefined) return false;
  const text = output.Payload === undefined ? '' : Buffer.from(output.Payload).toString('utf8');
  const response = (text === '' || text === 'null' ? {} : JSON.parse(text)) as Partial<DynamoDBBatchResponse>;
  return (response.batchItemFailures ?? []).length === 0;
}

export async function redrive(clients: RedriveClients, options: RedriveOptions): Promise<RedriveReport> {
  const log = options.log ?? (() => undefined);
  const batchSize = Math.max(1, options.batchSize ?? 10);
  const report = { messages: 0, replayed: 0, records: 0, expired: 0, failed: 0, unreadable: 0 };
  const seen = new Set<string>();
  for (;;) {
    if (options.maxMessages !== undefined && report.messages >= options.maxMessages) break;
    const { Messages } = await clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        // Long enough to replay a range; a message left undeleted comes back after it.
        VisibilityTimeout: 900,
      }),
    );
    const fresh = (Messages ?? []).filter(
      (message) => message.MessageId !== undefined && !seen.has(message.MessageId),
    );
    if (fresh.length === 0) break;
    for (const message of fresh) {
      seen.add(message.MessageId ?? '');
      report.messages += 1;
      const info = batchInfoOf(message.Body ?? '');
      if (info === undefined) {
        report.unreadable += 1;
        log(`message ${message.MessageId}: no DDBStreamBatchInfo; left in the queue`);
        continue;
      }
      const range = `${info.shardId} ${info.startSequenceNumber}..${info.endSequenceNumber}`;
      let records: DynamoDBRecord[];
      try {
        records = (await readRange(clients.streams, info)).filter(reachesNotifier);
      } catch (error) {
        if (!(error instanceof TrimmedDataAccessException)) throw error;
        report.expired += 1;
        log(`${range}: no longer in the stream (24 h retention); cannot be replayed`);
        if (options.deleteExpired === true && options.dryRun !== true)
          await deleteMessage(clients, options, message);
        continue;
      }
      report.records += records.length;
      if (options.dryRun === true) {
        log(`${range}: ${records.length} record(s) for the notifier (dry run)`);
        continue;
      }
      let ok = true;
      for (let start = 0; start < records.length && ok; start += batchSize) {
        ok = await invokeNotifier(
          clients.lambda,
          options.functionName,
          records.slice(start, start + batchSize),
        );
      }
      if (!ok) {
        report.failed += 1;
        log(`${range}: the notifier reported a failure again; left in the queue`);
        continue;
      }
      await deleteMessage(clients, options, message);
      report.replayed += 1;
      log(`${range}: ${records.length} record(s) replayed`);
    }
  }
  return report;
}

async function deleteMessage(
  clients: RedriveClients,
  options: RedriveOptions,
  message: { ReceiptHandle?: string | undefined },
): Promise<void> {
  await clients.sqs.send(
    new DeleteMessageCommand({ QueueUrl: options.queueUrl, ReceiptHandle: message.ReceiptHandle }),
  );
}
