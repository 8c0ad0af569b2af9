import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { deadLetterQueue } from '../../../lib/constructs/dead-letter-queue.js';
import { ServiceFunction } from '../../../lib/constructs/service-function.js';
import {
  TableStreamConsumer,
  type TableStreamConsumerProps,
} from '../../../lib/constructs/table-stream-consumer.js';
import { TokenTable } from '../../../lib/constructs/token-table.js';
import { FUNCTION_ENTRIES } from '../../../lib/function-entries.js';
import { arnOf, logicalIdOf, ref } from '../helpers.js';

// The TableStreamConsumer construct in a minimal stack of its own (a token table and one consumer),
// with cdk-nag's AWS Solutions checks. Bundling is skipped: the assertions read the construct tree.

const PATTERNS = [
  { eventName: ['REMOVE'] },
  { dynamodb: { Keys: { pk: { S: [{ prefix: 'TOKEN#' }] } } } },
] as const;

interface Built {
  readonly app: App;
  readonly stack: Stack;
  readonly table: TokenTable;
  readonly consumer: TableStreamConsumer;
  readonly template: Template;
}

function build(props: Partial<TableStreamConsumerProps> = {}, id = 'Consumer'): Built {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'TableStreamConsumerTest');
  const table = new TokenTable(stack, 'TokenTable');
  const consumer = new TableStreamConsumer(stack, id, {
    table: table.table,
    functionId: 'Worker',
    function: { entry: FUNCTION_ENTRIES.expiryLedger, description: 'test consumer' },
    filterPatterns: PATTERNS,
    deadLetterQueueOwner: 'the test consumer',
    deadLetterAlarmDescription: 'Test records failed after all retries',
    ...props,
  });
  return { app, stack, table, consumer, template: Template.fromStack(stack) };
}

describe('TableStreamConsumer construct', () => {
  let built: Built;
  beforeAll(() => {
    built = build();
  });

  it("maps the table's stream to the function: from the oldest record, in order, bounded retries, failures to the dead-letter queue", () => {
    const { template, consumer, table } = built;
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(consumer.function.function),
      EventSourceArn: { 'Fn::GetAtt': [logicalIdOf(table.table), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 10,
      ParallelizationFactor: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 6 * 3600,
      DestinationConfig: { OnFailure: { Destination: arnOf(consumer.deadLetterQueue) } },
    });
  });

  it('invokes the function only for records matching one of its filter patterns', () => {
    const [mapping] = Object.values(built.template.findResources('AWS::Lambda::EventSourceMapping'));
    const filters: { Pattern: string }[] = mapping?.Properties.FilterCriteria.Filters ?? [];
    expect(filters.map((filter) => JSON.parse(filter.Pattern))).toEqual(PATTERNS);
  });

  it('keeps failed records in an encrypted, SSL-only queue for 14 days, and alarms on the first one', () => {
    const { template, consumer } = built;
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(consumer.deadLetterQueue)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('^Test records failed after all retries\\. Stack: '),
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalIdOf(consumer.deadLetterQueue), 'QueueName'] } },
      ],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('takes its mapping settings and alarm actions from props', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'WithSettings');
    const table = new TokenTable(stack, 'TokenTable');
    const topic = new sns.Topic(stack, 'Topic');
    new TableStreamConsumer(stack, 'Consumer', {
      table: table.table,
      functionId: 'Worker',
      function: { entry: FUNCTION_ENTRIES.expiryLedger, description: 'test consumer' },
      filterPatterns: PATTERNS,
      deadLetterQueueOwner: 'the test consumer',
      deadLetterAlarmDescription: 'Test records failed',
      retryAttempts: 3,
      maxRecordAge: Duration.hours(1),
      batchSize: 25,
      alarmActions: [new SnsAction(topic)],
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 3600,
      BatchSize: 25,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: [ref(topic)] });
  });

  it('adds no level to the logical ids of what it creates under the id Default (deployed consumers keep theirs)', () => {
    const { template, consumer } = build({}, 'Default');
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const direct = new Stack(app, 'TableStreamConsumerTest');
    new TokenTable(direct, 'TokenTable');
    const fn = new ServiceFunction(direct, 'Worker', {
      entry: FUNCTION_ENTRIES.expiryLedger,
      description: 'test consumer',
    });
    const queue = deadLetterQueue(direct, 'DeadLetterQueue', 'the test consumer');
    expect(logicalIdOf(consumer.function.function)).toBe(logicalIdOf(fn.function));
    expect(logicalIdOf(consumer.function.role)).toBe(logicalIdOf(fn.role));
    expect(logicalIdOf(consumer.deadLetterQueue)).toBe(logicalIdOf(queue));
    expect(template.findResources('AWS::Lambda::Function')[logicalIdOf(fn.function)]).toBeDefined();
  });

  it('refuses a table without a stream', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'NoStream');
    const table = new dynamodb.Table(stack, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    });
    const scope = new Construct(stack, 'Scope');
    expect(
      () =>
        new TableStreamConsumer(scope, 'Consumer', {
          table,
          functionId: 'Worker',
          function: { entry: FUNCTION_ENTRIES.expiryLedger, description: 'test consumer' },
          filterPatterns: PATTERNS,
          deadLetterQueueOwner: 'the test consumer',
          deadLetterAlarmDescription: 'Test records failed',
        }),
    ).toThrow('NoStream/Scope needs a table with a stream (NEW_AND_OLD_IMAGES)');
  });

  it('passes the AWS Solutions checks: its one wildcard (ListStreams) acknowledged with a reason', () => {
    const { app, consumer } = built;
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(
      report.violations.map(
        (violation) =>
          `${violation.ruleName} ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
    const acknowledged = consumer.function.role.node.metadata
      .map((entry) => JSON.stringify(entry.data))
      .filter((data) => data.includes('AwsSolutions-IAM5'));
    expect(acknowledged.join()).toContain('dynamodb:ListStreams');
  });
});
