import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SETTINGS, parsePolicySettings } from '../../../lambdas/contract/policy-settings.js';
import { ENV } from '../../../lambdas/runtime/env.js';
import {
  EXPIRY_LEDGER_LEADING_KEYS,
  ExpiryLedger,
  type ExpiryLedgerProps,
} from '../../../lib/constructs/expiry-ledger.js';
import { FUNCTION_RUNTIME } from '../../../lib/constructs/service-function.js';
import { TokenTable } from '../../../lib/constructs/token-table.js';
import { FUNCTION_ENTRIES } from '../../../lib/function-entries.js';
import { filterOf } from '../../../local/event-filter.js';
import { issueToken, ttlDeletion, userDeleteOf } from '../../unit/notifications/support.js';
import { actionsOf, arnOf, logicalIdOf, ref, statementsOfRole } from '../helpers.js';

// The ExpiryLedger construct in a minimal stack of its own (a token table with its stream and
// nothing else), with cdk-nag's AWS Solutions checks. Bundling is skipped: the assertions read the
// construct tree.

interface Built {
  readonly app: App;
  readonly stack: Stack;
  readonly table: TokenTable;
  readonly expiryLedger: ExpiryLedger;
  readonly template: Template;
}

function build(props: Partial<ExpiryLedgerProps> = {}): Built {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'ExpiryLedgerTest');
  const table = new TokenTable(stack, 'TokenTable');
  const expiryLedger = new ExpiryLedger(stack, 'ExpiryLedger', {
    table: table.table,
    policy: DEFAULT_POLICY_SETTINGS,
    ...props,
  });
  return { app, stack, table, expiryLedger, template: Template.fromStack(stack) };
}

/** The filter criteria of the one event source mapping, parsed. */
function filterPatternOf(template: Template): Record<string, unknown> {
  const [mapping] = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'));
  const filters: { Pattern: string }[] = mapping?.Properties.FilterCriteria.Filters ?? [];
  expect(filters).toHaveLength(1);
  return JSON.parse(filters[0]?.Pattern ?? '{}') as Record<string, unknown>;
}

describe('ExpiryLedger construct', () => {
  let built: Built;
  beforeAll(() => {
    built = build();
  });

  it('runs the ledger on the newest Node.js, ARM, with its env and its own log group', () => {
    const { template, expiryLedger, table } = built;
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: FUNCTION_RUNTIME.name,
      Architectures: ['arm64'],
      Timeout: 30,
      Role: arnOf(expiryLedger.ledger.role),
      LoggingConfig: { LogGroup: ref(expiryLedger.ledger.logGroup) },
      Environment: {
        Variables: Match.objectLike({
          [ENV.tableName]: ref(table.table),
          [ENV.policySettings]: JSON.stringify(DEFAULT_POLICY_SETTINGS),
        }),
      },
    });
    expect(FUNCTION_ENTRIES.expiryLedger).toBe('lambdas/expiry-ledger/handler.ts');
  });

  it('passes a policy the handler can read back (auditRetentionDays)', () => {
    const policy = parsePolicySettings({ auditRetentionDays: 90 });
    const { template, expiryLedger } = build({ policy });
    const fn = template.findResources('AWS::Lambda::Function', {
      Properties: { Role: arnOf(expiryLedger.ledger.role) },
    });
    const [resource] = Object.values(fn);
    const raw: unknown = resource?.Properties.Environment.Variables[ENV.policySettings];
    expect(parsePolicySettings(JSON.parse(String(raw))).auditRetentionDays).toBe(90);
  });

  it('consumes the stream from TRIM_HORIZON with partial batch responses, bisecting, bounded retries and an SQS on-failure destination', () => {
    const { template, expiryLedger, table } = built;
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(expiryLedger.ledger.function),
      EventSourceArn: { 'Fn::GetAtt': [logicalIdOf(table.table), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 6 * 3600,
      ParallelizationFactor: 1,
      BatchSize: 10,
      DestinationConfig: { OnFailure: { Destination: arnOf(expiryLedger.deadLetterQueue) } },
    });
  });

  it('is invoked only for TTL deletions (REMOVE by the DynamoDB service principal) of token items', () => {
    const pattern = filterPatternOf(built.template);
    expect(pattern).toEqual({
      eventName: ['REMOVE'],
      userIdentity: { type: ['Service'], principalId: ['dynamodb.amazonaws.com'] },
      dynamodb: { OldImage: { entity: { S: ['token'] } } },
    });
    // The deployed pattern, read back from the template, against real record shapes.
    const matches = filterOf(pattern as Parameters<typeof filterOf>[0]);
    const { token } = issueToken();
    expect(matches(ttlDeletion(token))).toBe(true);
    expect(matches(userDeleteOf(token))).toBe(false);
  });

  it('makes an encrypted, SSL-only dead-letter queue that keeps messages 14 days', () => {
    const { template, expiryLedger } = built;
    const resource = template.findResources('AWS::SQS::Queue')[logicalIdOf(expiryLedger.deadLetterQueue)];
    expect(resource?.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(expiryLedger.deadLetterQueue)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('alarms as soon as anything is in the dead-letter queue', () => {
    const { template, expiryLedger } = built;
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalIdOf(expiryLedger.deadLetterQueue), 'QueueName'] },
        },
      ],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('lets the ledger write only slots, counters and token audit events, with the actions a release uses', () => {
    const { template, expiryLedger, table } = built;
    const statements = statementsOfRole(template, logicalIdOf(expiryLedger.ledger.role));
    const tableStatements = statements.filter(
      (statement) => JSON.stringify(statement.Resource) === JSON.stringify(arnOf(table.table)),
    );
    expect(tableStatements).toHaveLength(1);
    const [release] = tableStatements;
    expect([...actionsOf(tableStatements)].sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    expect(release?.Condition).toEqual({
      'ForAllValues:StringLike': {
        'dynamodb:LeadingKeys': ['SLOTS#*', 'LIMIT#USER#*', 'LIMIT#ACCOUNT#*', 'AUDIT#TOKEN#*'],
      },
    });
    expect(EXPIRY_LEDGER_LEADING_KEYS).toEqual([
      'SLOTS#*',
      'LIMIT#USER#*',
      'LIMIT#ACCOUNT#*',
      'AUDIT#TOKEN#*',
    ]);

    // Reads the stream (the event source's grant) and sends failures to its own queue; nothing else.
    const actions = actionsOf(statements);
    expect(actions).toEqual(
      expect.arrayContaining(['dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:DescribeStream']),
    );
    const streamRead = statements.find((statement) => actionsOf([statement]).includes('dynamodb:GetRecords'));
    expect(streamRead?.Resource).toEqual({ 'Fn::GetAtt': [logicalIdOf(table.table), 'StreamArn'] });
    const send = statements.find((statement) => actionsOf([statement]).includes('sqs:SendMessage'));
    expect(send?.Resource).toEqual(arnOf(expiryLedger.deadLetterQueue));
    for (const forbidden of [
      'dynamodb:Scan',
      'dynamodb:Query',
      'dynamodb:GetItem',
      'dynamodb:BatchWriteItem',
    ]) {
      expect(actions).not.toContain(forbidden);
    }
    expect(actions.filter((action) => action.endsWith('*'))).toEqual([]);
    expect(actions.some((action) => action.startsWith('kms:') || action.startsWith('ses:'))).toBe(false);
  });

  it('takes its settings from props', () => {
    const { template } = build({ retryAttempts: 3, maxRecordAge: Duration.hours(1), batchSize: 25 });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 3600,
      BatchSize: 25,
    });
  });

  it('refuses a table without a stream', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'NoStream');
    const table = new dynamodb.Table(stack, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    });
    expect(() => new ExpiryLedger(stack, 'ExpiryLedger', { table, policy: DEFAULT_POLICY_SETTINGS })).toThrow(
      /stream/,
    );
  });

  it('passes the AWS Solutions checks, each acknowledgement with a reason', () => {
    const { app } = built;
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(
      report.violations.map(
        (violation) =>
          `${violation.ruleName} ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
    expect(() => app.synth()).not.toThrow();
  });
});
