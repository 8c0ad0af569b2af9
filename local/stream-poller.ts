import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
  type ShardIteratorType,
  type AttributeValue as StreamsAttributeValue,
  type _Record as StreamsRecord,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type {
  AttributeValue,
  DynamoDBBatchResponse,
  DynamoDBRecord,
  DynamoDBStreamEvent,
  StreamRecord,
} from 'aws-lambda';

// The local stack's stand-in for Lambda's DynamoDB event source mapping: it reads the table's stream
// from DynamoDB Local (DynamoDB Streams API: DescribeTable → LatestStreamArn, DescribeStream → shards,
// GetShardIterator, GetRecords) and invokes a handler with the same DynamoDBStreamEvent Lambda would
// deliver (attribute values as JSON, binary in base64, ApproximateCreationDateTime in epoch seconds,
// `userIdentity` when the record has one).
//
// Failures behave as with `ReportBatchItemFailures`: the shard stops at the lowest reported sequence
// number, and that record and everything after it are delivered again after `retryDelayMs`, until
// they succeed (or `maxAttempts` is reached). A handler that throws fails the whole batch.
// Shards open at start are read from LATEST; shards that appear later from TRIM_HORIZON, each after
// its parent shard is finished (per-item order, as in Lambda).
//
// One poller can feed several functions (`consumers`), each like its own event source mapping:
// its own shard iterators and retry state (one consumer's failing batch never holds another back)
// and its own filter (Lambda's filter criteria: records it rejects are never delivered, and a
// batch left empty is no invocation).

// Retry and refresh times run on the monotonic clock: a test that fakes or moves `Date` (or a wall
// clock that jumps) must not push a retry or a shard refresh into the future.
const monotonicNow = (): number => performance.now();

export type StreamBatchHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined>;

export interface StreamConsumer {
  /** Names the consumer in what onError is told. */
  readonly name: string;
  readonly handler: StreamBatchHandler;
  /** Which records reach it, as the mapping's filter criteria (local/event-filter.ts). @default all */
  readonly filter?: (record: DynamoDBRecord) => boolean;
}

interface StreamPollerSettings {
  /** DynamoDB Local's URL; its Streams API answers on the same endpoint. */
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  /** Pause between polls of the shards. @default 250 */
  readonly intervalMs?: number;
  /** Pause before a failed batch is delivered again. @default 1000 */
  readonly retryDelayMs?: number;
  /** Deliveries of one batch before its records are dropped (reported to onError). @default unlimited */
  readonly maxAttempts?: number;
  /** Records per GetRecords call, and so per handler invocation. @default 100 */
  readonly batchSize?: number;
  /** How often new shards are looked for. @default 5000 */
  readonly shardRefreshMs?: number;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default local dummy credentials (DynamoDB Local accepts any) */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Told about handler failures, dropped batches and stream read errors. @default console.error */
  readonly onError?: (error: unknown, context: string) => void;
}

type StreamPollerOptions = StreamPollerSettings &
  (
    | { readonly handler: StreamBatchHandler; readonly consumers?: never }
    | { readonly consumers: readonly StreamConsumer[]; readonly handler?: never }
  );

export interface StreamPoller {
  readonly streamArn: string;
  /** Stops polling; resolves after the batch in flight (if any) has been handled. */
  stop(): Promise<void>;
}

interface ShardState {
  readonly shardId: string;
  readonly parentShardId: string | undefined;
  iterator: string | undefined;
  lastSequenceNumber: string | undefined;
  /** Records to deliver again (from the first failed one), and when. */
  pending: DynamoDBRecord[];
  retryAt: number;
  attempts: number;
}

/** One consumer's event source mapping: its own shard positions and retry state. */
interface Mapping {
  readonly consumer: StreamConsumer;
  readonly shards: Map<string, ShardState>;
  readonly known: Set<string>;
  /** Prefix of what onError is told; empty for a poller with a single `handler`. */
  readonly label: string;
}

function consumersOf(options: StreamPollerOptions): readonly StreamConsumer[] {
  if (options.consumers !== undefined) return options.consumers;
  return [{ name: '', handler: options.handler }];
}

export async function startStreamPoller(options: StreamPollerOptions): Promise<StreamPoller> {
  const mappings: Mapping[] = consumersOf(options).map((consumer) => ({
    consumer,
    shards: new Map(),
    known: new Set(),
    label: consumer.name === '' ? '' : `${consumer.name}: `,
  }));
  if (mappings.length === 0) throw new Error('stream poller: no consumers');
  const region = options.region ?? 'us-east-1';
  const credentials = options.credentials ?? { accessKeyId: 'local', secretAccessKey: 'local' };
  const intervalMs = options.intervalMs ?? 250;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
  const batchSize = options.batchSize ?? 100;
  const shardRefreshMs = options.shardRefreshMs ?? 5000;
  const onError =
    options.onError ??
    ((error: unknown, context: string) => console.error(`stream poller: ${context}:`, error));

  const dynamo = new DynamoDBClient({ endpoint: options.dynamoEndpoint, region, credentials });
  const streams = new DynamoDBStreamsClient({ endpoint: options.dynamoEndpoint, region, credentials });

  const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: options.tableName }));
  dynamo.destroy();
  const latestStreamArn = Table?.LatestStreamArn;
  if (latestStreamArn === undefined || Table?.StreamSpecification?.StreamEnabled !== true) {
    streams.destroy();
    throw new Error(`table ${options.tableName} has no stream enabled`);
  }
  const streamArn: string = latestStreamArn;

  async function listShards(): Promise<Shard[]> {
    const all: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const { StreamDescription } = await streams.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: exclusiveStartShardId }),
      );
      all.push(...(StreamDescription?.Shards ?? []));
      exclusiveStartShardId = StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId !== undefined);
    return all;
  }

  async function iteratorFor(
    shardId: string,
    type: ShardIteratorType,
    sequenceNumber?: string,
  ): Promise<string | undefined> {
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shardId,
        ShardIteratorType: type,
        ...(sequenceNumber === undefined ? {} : { SequenceNumber: sequenceNumber }),
      }),
    );
    return ShardIterator;
  }

  async function addShards(initial: boolean): Promise<void> {
    const listed = await listShards();
    for (const { shards, known } of mappings) {
      for (const shard of listed) {
        const shardId = shard.ShardId;
        if (shardId === undefined || known.has(shardId)) continue;
        known.add(shardId);
        const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
        // At start, only what happens from now on; closed shards hold only the past.
        if (initial && closed) continue;
        shards.set(shardId, {
          shardId,
          parentShardId: shard.ParentShardId,
          // Each mapping its own iterator: its position moves only with its own deliveries.
          iterator: await iteratorFor(shardId, initial ? 'LATEST' : 'TRIM_HORIZON'),
          lastSequenceNumber: undefined,
          pending: [],
          retryAt: 0,
          attempts: 0,
        });
      }
    }
  }

  await addShards(true);

  async function deliver(mapping: Mapping, shard: ShardState, records: DynamoDBRecord[]): Promise<void> {
    shard.attempts += 1;
    let failedFrom = -1;
    try {
      const response = await mapping.consumer.handler({ Records: records });
      const failures = response?.batchItemFailures ?? [];
      if (failures.length > 0) {
        const failed = new Set(failures.map((failure) => failure.itemIdentifier));
        const index = records.findIndex((record) => failed.has(record.dynamodb?.SequenceNumber ?? ''));
        // An identifier that names no record fails the whole batch, as in Lambda.
        failedFrom = index === -1 ? 0 : index;
      }
    } catch (error) {
      onError(
        error,
        `${mapping.label}handler failed on a batch of ${records.length} record(s) of shard ${shard.shardId}`,
      );
      failedFrom = 0;
    }
    if (failedFrom === -1) {
      shard.pending = [];
      shard.attempts = 0;
      return;
    }
    const retry = records.slice(failedFrom);
    if (shard.attempts >= maxAttempts) {
      onError(
        new Error(`dropped ${retry.length} record(s) after ${shard.attempts} attempts`),
        `${mapping.label}shard ${shard.shardId}`,
      );
      shard.pending = [];
      shard.attempts = 0;
      return;
    }
    shard.pending = retry;
    shard.retryAt = monotonicNow() + retryDelayMs;
  }

  async function readShard(mapping: Mapping, shard: ShardState): Promise<void> {
    if (shard.pending.length > 0) {
      if (monotonicNow() >= shard.retryAt) await deliver(mapping, shard, shard.pending);
      return;
    }
    if (shard.iterator === undefined) {
      mapping.shards.delete(shard.shardId); // closed and fully read
      return;
    }
    // A child shard waits until its parent is read to the end.
    if (shard.parentShardId !== undefined && mapping.shards.has(shard.parentShardId)) return;
    let output: { Records?: StreamsRecord[]; NextShardIterator?: string };
    try {
      output = await streams.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: batchSize }));
    } catch (error) {
      if (error instanceof ExpiredIteratorException) {
        const last = shard.lastSequenceNumber;
        shard.iterator =
          last === undefined
            ? await iteratorFor(shard.shardId, 'LATEST')
            : await iteratorFor(shard.shardId, 'AFTER_SEQUENCE_NUMBER', last);
        return;
      }
      if (error instanceof TrimmedDataAccessException) {
        shard.iterator = await iteratorFor(shard.shardId, 'TRIM_HORIZON');
        return;
      }
      throw error;
    }
    shard.iterator = output.NextShardIterator;
    const records = (output.Records ?? []).map((record) => toLambdaRecord(record, streamArn, region));
    // The position moves past filtered-out records too: Lambda drops them for good.
    const last = records.at(-1)?.dynamodb?.SequenceNumber;
    if (last !== undefined) shard.lastSequenceNumber = last;
    const { filter } = mapping.consumer;
    const delivered = filter === undefined ? records : records.filter((record) => filter(record));
    if (delivered.length > 0) await deliver(mapping, shard, delivered);
  }

  let stopped = false;
  let wake: (() => void) | undefined;
  let nextRefresh = monotonicNow() + shardRefreshMs;

  async function loop(): Promise<void> {
    while (!stopped) {
      try {
        if (monotonicNow() >= nextRefresh) {
          nextRefresh = monotonicNow() + shardRefreshMs;
          await addShards(false);
        }
      } catch (error) {
        onError(error, 'reading the stream failed; trying again');
      }
      for (const mapping of mappings) {
        if (stopped) break;
        // One mapping's read error does not keep the others from their records.
        try {
          for (const shard of [...mapping.shards.values()]) {
            if (stopped) break;
            await readShard(mapping, shard);
          }
        } catch (error) {
          onError(error, `${mapping.label}reading the stream failed; trying again`);
        }
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  }

  const running = loop();
  return {
    streamArn,
    async stop() {
      stopped = true;
      wake?.();
      await running;
      streams.destroy();
    },
  };
}

/** A DynamoDB Streams API record as Lambda delivers it to a function. */
export function toLambdaRecord(record: StreamsRecord, streamArn: string, region: string): DynamoDBRecord {
  const source = record.dynamodb;
  const dynamodb: StreamRecord = {};
  if (source?.ApproximateCreationDateTime !== undefined) {
    dynamodb.ApproximateCreationDateTime = Math.floor(source.ApproximateCreationDateTime.getTime() / 1000);
  }
  if (source?.Keys !== undefined) dynamodb.Keys = toLambdaImage(source.Keys);
  if (source?.NewImage !== undefined) dynamodb.NewImage = toLambdaImage(source.NewImage);
  if (source?.OldImage !== undefined) dynamodb.OldImage = toLambdaImage(source.OldImage);
  if (source?.SequenceNumber !== undefined) dynamodb.SequenceNumber = source.SequenceNumber;
  if (source?.SizeBytes !== undefined) dynamodb.SizeBytes = source.SizeBytes;
  if (source?.StreamViewType !== undefined) dynamodb.StreamViewType = source.StreamViewType;

  const lambdaRecord: DynamoDBRecord = {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion ?? region,
    dynamodb,
    eventSourceARN: streamArn,
  };
  if (record.userIdentity !== undefined) {
    lambdaRecord.userIdentity = {
      type: record.userIdentity.Type,
      principalId: record.userIdentity.PrincipalId,
    };
  }
  return lambdaRecord;
}

function toLambdaImage(image: Record<string, StreamsAttributeValue>): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, toLambdaValue(value)]));
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

function toLambdaValue(value: StreamsAttributeValue): AttributeValue {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaValue) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  // DynamoDB Local writes an empty map to its stream as `{}` instead of `{"M":{}}` (an empty list,
  // string or binary keeps its type), so the SDK hands over a value with no member. Nothing else
  // comes out empty, and Lambda delivers an empty map as `{"M":{}}`: an audit event's `details: {}`
  // must not stop the shard.
  if (Object.keys(value).length === 0) return { M: {} };
  throw new TypeError('unsupported attribute value in stream record');
}
