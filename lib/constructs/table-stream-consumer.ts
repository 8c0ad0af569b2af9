import { Duration, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { deadLetterQueue, queueDepthAlarm } from './dead-letter-queue.js';
import { ServiceFunction, type ServiceFunctionProps } from './service-function.js';

/** Why the consumer's role may name Resource "*": the one action the DynamoDB event source adds. */
const LIST_STREAMS_ACKNOWLEDGEMENT =
  'dynamodb:ListStreams (added by the DynamoDB event source) has no resource-level permissions and needs "*"; reading the stream itself is limited to this table\'s stream ARN.';

export interface TableStreamConsumerProps {
  /** The table whose stream (NEW_AND_OLD_IMAGES) feeds the function. */
  readonly table: dynamodb.ITable;
  /**
   * The construct id of the function (its logical ids derive from it: the notifier's and the expiry
   * ledger's keep the ids they were first deployed with).
   */
  readonly functionId: string;
  /** The function: entry, description, timeout, environment, log retention. */
  readonly function: ServiceFunctionProps;
  /** Lambda event filter patterns: only records matching one of them invoke the function. */
  readonly filterPatterns: readonly Record<string, unknown>[];
  /** Whose dead-letter queue it is, for its acknowledgements (e.g. `the notifier stream mapping on-failure destination`). */
  readonly deadLetterQueueOwner: string;
  /** What a message in the dead-letter queue means, for its alarm's description. */
  readonly deadLetterAlarmDescription: string;
  /**
   * Why the function's role may have actions on Resource "*" (cdk-nag AwsSolutions-IAM5).
   * @default {@link LIST_STREAMS_ACKNOWLEDGEMENT}: the event source's dynamodb:ListStreams only
   */
  readonly wildcardResourceReason?: string;
  /** @default 10 */
  readonly batchSize?: number;
  /**
   * Times Lambda retries a failed record (after bisecting the batch) before its metadata goes to
   * the dead-letter queue.
   * @default 10
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this go to the dead-letter queue instead of being retried (the stream keeps
   * records for 24 hours).
   * @default Duration.hours(6)
   */
  readonly maxRecordAge?: Duration;
  /**
   * Actions of the dead-letter queue alarm (e.g. an SNS topic).
   * @default none: the alarm shows in CloudWatch only
   */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
}

/**
 * A Lambda function on the table's stream, as every stream consumer of this service runs: the
 * function, its event source mapping (TRIM_HORIZON, one batch per shard at a time so a token's
 * records stay in order, partial batch responses, bisect on error, bounded retries), the filter
 * criteria that keep other records from invoking it, an encrypted SSL-only dead-letter queue for the
 * metadata of records past their retries, the alarm on that queue, and the acknowledgement of the
 * event source's ListStreams on "*".
 *
 * It adds no level to the construct path of what it creates when its id is `Default` (CDK leaves
 * that id out of logical ids): the notifier and the expiry ledger create it so, and their
 * functions, queues and alarms keep their deployed logical ids.
 */
export class TableStreamConsumer extends Construct {
  public readonly function: ServiceFunction;
  public readonly eventSource: DynamoEventSource;
  /** The stream's on-failure destination: metadata of records that exhausted their retries. */
  public readonly deadLetterQueue: sqs.Queue;
  public readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: TableStreamConsumerProps) {
    super(scope, id);
    const { table } = props;
    if (table.tableStreamArn === undefined) {
      throw new Error(`${scope.node.path} needs a table with a stream (NEW_AND_OLD_IMAGES)`);
    }

    this.deadLetterQueue = deadLetterQueue(this, 'DeadLetterQueue', props.deadLetterQueueOwner);
    this.function = new ServiceFunction(this, props.functionId, props.function);
    this.eventSource = new DynamoEventSource(table, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize ?? 10,
      // One batch per shard at a time: a token's records stay in order.
      parallelizationFactor: 1,
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts: props.retryAttempts ?? 10,
      maxRecordAge: props.maxRecordAge ?? Duration.hours(6),
      onFailure: new SqsDlq(this.deadLetterQueue),
      filters: props.filterPatterns.map((pattern) => lambda.FilterCriteria.filter(pattern)),
    });
    this.function.function.addEventSource(this.eventSource);
    Validations.of(this.function.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: props.wildcardResourceReason ?? LIST_STREAMS_ACKNOWLEDGEMENT,
    });

    this.deadLetterAlarm = queueDepthAlarm(
      this,
      'DeadLetterAlarm',
      this.deadLetterQueue,
      props.deadLetterAlarmDescription,
      props.alarmActions,
    );
  }
}
