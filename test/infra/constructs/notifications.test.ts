import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../../lambdas/runtime/env.js';
import { Notifications, type NotificationsProps } from '../../../lib/constructs/notifications.js';
import { FUNCTION_RUNTIME } from '../../../lib/constructs/service-function.js';
import { TokenTable } from '../../../lib/constructs/token-table.js';
import { FUNCTION_ENTRIES } from '../../../lib/function-entries.js';
import { actionsOf, arnOf, logicalIdOf, ref, statementsOfRole } from '../helpers.js';

// The Notifications construct in a minimal stack of its own (a token table and nothing else), with
// cdk-nag's AWS Solutions checks. Bundling is skipped: the assertions read the construct tree.

/** `arn:<partition>:ses:<region>:<account>:identity/*`: every identity of the account and Region. */
const ACCOUNT_IDENTITIES = {
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':ses:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      ':identity/*',
    ],
  ],
};

interface Built {
  readonly app: App;
  readonly stack: Stack;
  readonly table: TokenTable;
  readonly notifications: Notifications;
  readonly template: Template;
}

function build(props: Partial<NotificationsProps> = {}): Built {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'NotificationsTest');
  const table = new TokenTable(stack, 'TokenTable');
  const notifications = new Notifications(stack, 'Notifications', {
    table: table.table,
    senderAddress: 'no-reply@mail.example.com',
    sesIdentity: 'mail.example.com',
    ...props,
  });
  return { app, stack, table, notifications, template: Template.fromStack(stack) };
}

describe('Notifications construct', () => {
  let built: Built;
  beforeAll(() => {
    built = build();
  });

  it('runs the notifier on the newest Node.js, ARM, with its env and its own log group', () => {
    const { template, notifications, table } = built;
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: FUNCTION_RUNTIME.name,
      Architectures: ['arm64'],
      // Enough to wait out another delivery's claim lease (120 s) and still deliver.
      Timeout: 300,
      Role: arnOf(notifications.notifier.role),
      LoggingConfig: { LogGroup: ref(notifications.notifier.logGroup) },
      Environment: {
        Variables: Match.objectLike({
          [ENV.tableName]: ref(table.table),
          [ENV.notificationSenderAddress]: 'no-reply@mail.example.com',
        }),
      },
    });
    expect(FUNCTION_ENTRIES.notifier).toBe('lambdas/notifier/handler.ts');
  });

  it('consumes the stream with partial batch responses, bisecting, bounded retries and an SQS on-failure destination', () => {
    const { template, notifications, table } = built;
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(notifications.notifier.function),
      EventSourceArn: { 'Fn::GetAtt': [logicalIdOf(table.table), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 6 * 3600,
      ParallelizationFactor: 1,
      BatchSize: 10,
      DestinationConfig: { OnFailure: { Destination: arnOf(notifications.deadLetterQueue) } },
      FilterCriteria: {
        Filters: [
          { Pattern: JSON.stringify({ dynamodb: { Keys: { pk: { S: [{ prefix: 'TOKEN#' }] } } } }) },
          { Pattern: JSON.stringify({ dynamodb: { Keys: { pk: { S: [{ prefix: 'CONTACT#' }] } } } }) },
          {
            Pattern: JSON.stringify({
              eventName: ['INSERT'],
              dynamodb: { NewImage: { entity: { S: ['audit'] }, action: { S: ['tokens.revoked-all'] } } },
            }),
          },
        ],
      },
    });
    const mapping = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).find(
      (resource) => resource.Properties.StartingPosition === 'TRIM_HORIZON',
    );
    const retries = mapping?.Properties.MaximumRetryAttempts;
    expect(retries).toBeGreaterThanOrEqual(0);
    expect(retries).toBeLessThanOrEqual(20);
  });

  it('lets the notifier send failed-record metadata to its dead-letter queue', () => {
    const { template, notifications } = built;
    const statements = statementsOfRole(template, logicalIdOf(notifications.notifier.role));
    expect(
      statements.some(
        (statement) =>
          actionsOf([statement]).includes('sqs:SendMessage') &&
          JSON.stringify(statement.Resource) === JSON.stringify(arnOf(notifications.deadLetterQueue)),
      ),
    ).toBe(true);
  });

  it('makes encrypted, SSL-only dead-letter queues that keep messages 14 days', () => {
    const { template, notifications } = built;
    for (const queue of [notifications.deadLetterQueue, notifications.reminderDeadLetterQueue]) {
      const resource = template.findResources('AWS::SQS::Queue')[logicalIdOf(queue)];
      expect(resource?.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 1_209_600,
      });
    }
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(notifications.deadLetterQueue)],
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

  it('alarms as soon as anything is in a dead-letter queue', () => {
    const { template, notifications } = built;
    for (const queue of [notifications.deadLetterQueue, notifications.reminderDeadLetterQueue]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalIdOf(queue), 'QueueName'] } }],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('creates the SES identity from context (a domain here), kept when it leaves the stack', () => {
    // Retained on `cdk destroy` and when sesIdentityExists turns true (the identity leaves the
    // template): its verification was done by hand. Only the rollback of the deploy that created it
    // deletes it.
    built.template.hasResource('AWS::SES::EmailIdentity', {
      Properties: { EmailIdentity: 'mail.example.com' },
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('gives the DKIM CNAME records of a domain identity it creates, and none otherwise', () => {
    const { stack, notifications } = built;
    expect(notifications.dkimRecords).toHaveLength(3);
    const identityId = logicalIdOf(notifications.emailIdentity);
    notifications.dkimRecords.forEach((record, index) => {
      expect(stack.resolve(record.name)).toEqual({
        'Fn::GetAtt': [identityId, `DkimDNSTokenName${index + 1}`],
      });
      expect(stack.resolve(record.value)).toEqual({
        'Fn::GetAtt': [identityId, `DkimDNSTokenValue${index + 1}`],
      });
    });
    expect(build({ sesIdentity: undefined }).notifications.dkimRecords).toEqual([]);
    expect(build({ sesIdentityExists: true }).notifications.dkimRecords).toEqual([]);
  });

  it("lets the notifier send only as the configured sender, on the account's identities (SES sandbox), write only idempotency and contact records, and query only the owner and account indexes", () => {
    const { template, notifications, table } = built;
    const statements = statementsOfRole(template, logicalIdOf(notifications.notifier.role));
    const sendStatements = statements.filter((statement) =>
      actionsOf([statement]).some((action) => action.startsWith('ses:Send')),
    );
    expect(sendStatements).toHaveLength(1);
    const [send] = sendStatements;
    expect([...actionsOf(sendStatements)].sort()).toEqual(['ses:SendEmail', 'ses:SendRawEmail']);
    // In the SES sandbox SES also checks the recipient's identity (a verified address of this
    // account): a policy on the sender identity alone is refused for every recipient.
    expect(send?.Resource).toEqual(ACCOUNT_IDENTITIES);
    expect(send?.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'no-reply@mail.example.com' } });
    // Pacing: the send quota, a read with no resource-level permissions.
    const quota = statements.filter((statement) => actionsOf([statement]).includes('ses:GetSendQuota'));
    expect(quota.map((statement) => [actionsOf([statement]), statement.Resource])).toEqual([
      [['ses:GetSendQuota'], '*'],
    ]);

    const dynamoStatements = statements.filter((statement) =>
      actionsOf([statement]).some((action) => action.startsWith('dynamodb:')),
    );
    const itemWrites = dynamoStatements.filter((statement) =>
      actionsOf([statement]).some((action) => /Put|Update|Delete|BatchWrite/.test(action)),
    );
    expect(itemWrites).toHaveLength(2);
    for (const write of itemWrites) expect(write.Resource).toEqual(arnOf(table.table));
    expect(itemWrites.map((write) => write.Condition)).toEqual([
      { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['IDEMPOTENCY#*'] } },
      { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CONTACT#*'] } },
    ]);
    const queries = dynamoStatements.filter((statement) => actionsOf([statement]).includes('dynamodb:Query'));
    expect(queries).toHaveLength(1);
    const indexes = JSON.stringify(queries[0]?.Resource);
    expect(indexes).toContain('/index/byOwner');
    expect(indexes).toContain('/index/byAccount');
    expect(indexes).not.toContain('byExpiryDay');
    // No scans, no table-wide access for the notifier.
    expect(actionsOf(statements)).not.toContain('dynamodb:Scan');
    expect(actionsOf(statements).filter((action) => action.endsWith('*'))).toEqual([]);
  });

  it('names an email identity when the identity is an address (the default is the sender)', () => {
    const { template, notifications } = build({ sesIdentity: undefined });
    template.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'no-reply@mail.example.com' });
    expect(notifications.dkimRecords).toEqual([]);
  });

  it('uses an existing identity by name without creating one', () => {
    const { template, notifications } = build({ sesIdentityExists: true });
    template.resourceCountIs('AWS::SES::EmailIdentity', 0);
    expect(notifications.emailIdentity.emailIdentityName).toBe('mail.example.com');
    const statements = statementsOfRole(template, logicalIdOf(notifications.notifier.role));
    const send = statements.find((statement) => actionsOf([statement]).includes('ses:SendEmail'));
    expect(send?.Resource).toEqual(ACCOUNT_IDENTITIES);
    expect(send?.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'no-reply@mail.example.com' } });
  });

  it('runs the reminder job daily, with retries and a dead-letter queue, and its window in the env', () => {
    const { template, notifications } = built;
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(0 8 * * ? *)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: arnOf(notifications.reminderJob.function),
          RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 6 * 3600 },
          DeadLetterConfig: { Arn: arnOf(notifications.reminderDeadLetterQueue) },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(notifications.reminderJob.function),
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: arnOf(notifications.reminderDeadLetterQueue) } },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Role: arnOf(notifications.reminderJob.role),
      Environment: { Variables: Match.objectLike({ [ENV.reminderWindowDays]: '7' }) },
    });
  });

  it('plans onto its own queue, whose messages it works off two at a time (failed ones to its dead-letter queue)', () => {
    const { template, notifications } = built;
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(notifications.reminderJob.function),
      EventSourceArn: arnOf(notifications.reminderQueue),
      BatchSize: 1,
      ScalingConfig: { MaximumConcurrency: 2 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const queue = template.findResources('AWS::SQS::Queue')[logicalIdOf(notifications.reminderQueue)];
    expect(queue?.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 1800,
      RedrivePolicy: {
        deadLetterTargetArn: arnOf(notifications.reminderDeadLetterQueue),
        maxReceiveCount: 3,
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Role: arnOf(notifications.reminderJob.role),
      Environment: {
        Variables: Match.objectLike({ [ENV.reminderQueueUrl]: ref(notifications.reminderQueue) }),
      },
    });
    const statements = statementsOfRole(template, logicalIdOf(notifications.reminderJob.role));
    expect(
      statements.some(
        (statement) =>
          actionsOf([statement]).includes('sqs:SendMessage') &&
          JSON.stringify(statement.Resource) === JSON.stringify(arnOf(notifications.reminderQueue)),
      ),
    ).toBe(true);
  });

  it('lets the reminder job query only the byExpiryDay index, read tokens and contacts, and send like the notifier', () => {
    const { template, notifications, table } = built;
    const statements = statementsOfRole(template, logicalIdOf(notifications.reminderJob.role));
    const reads = statements.filter((statement) => actionsOf([statement]).includes('dynamodb:BatchGetItem'));
    expect(reads.map((statement) => statement.Condition)).toEqual([
      { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['TOKEN#*', 'CONTACT#*'] } },
    ]);
    const query = statements.filter((statement) => actionsOf([statement]).includes('dynamodb:Query'));
    expect(query).toHaveLength(1);
    expect(JSON.stringify(query[0]?.Resource)).toContain('/index/byExpiryDay');
    expect(JSON.stringify(query[0]?.Resource)).toContain(logicalIdOf(table.table));
    const send = statements.find((statement) => actionsOf([statement]).includes('ses:SendEmail'));
    expect(send?.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'no-reply@mail.example.com' } });
    expect(actionsOf(statements)).not.toContain('dynamodb:Scan');
  });

  it('takes its settings from props', () => {
    const { template } = build({
      reminderWindowDays: 14,
      maxSendRate: 25,
      retryAttempts: 3,
      maxRecordAge: Duration.hours(1),
      batchSize: 5,
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 3600,
      BatchSize: 5,
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ [ENV.reminderWindowDays]: '14', [ENV.notificationMaxSendRate]: '25' }),
      },
    });
  });

  it('refuses a table without a stream', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'NoStream');
    const table = new dynamodb.Table(stack, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    });
    expect(
      () => new Notifications(stack, 'Notifications', { table, senderAddress: 'a@example.com' }),
    ).toThrow(/stream/);
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

describe('Notifications during an index upgrade (#18 item 8)', () => {
  const environmentOf = (template: Template, logicalId: string) =>
    template.findResources('AWS::Lambda::Function')[logicalId]?.Properties?.Environment?.Variables ?? {};
  const queriedIndexes = (template: Template, role: Parameters<typeof logicalIdOf>[0]) =>
    JSON.stringify(
      statementsOfRole(template, logicalIdOf(role)).filter((statement) =>
        actionsOf([statement]).includes('dynamodb:Query'),
      ),
    );

  it.each([
    [2, 'legacy'],
    [5, undefined],
    [undefined, undefined],
  ] as const)(
    'step %s: the notifier and the reminder job read the indexes the table serves (TABLE_INDEXES %s)',
    (step, reads) => {
      const { template, notifications } = build(step === undefined ? {} : { indexUpgradeStep: step });
      for (const fn of [notifications.notifier, notifications.reminderJob]) {
        expect(environmentOf(template, logicalIdOf(fn.function))[ENV.tableIndexes]).toBe(reads);
      }
      const notifier = queriedIndexes(template, notifications.notifier.role);
      const reminders = queriedIndexes(template, notifications.reminderJob.role);
      expect(notifier).toContain('/index/byOwner2');
      // byExpiryDay2 comes at step 3; the legacy byOwner is gone at step 5, byExpiryDay at the last deploy.
      expect(reminders.includes('/index/byExpiryDay2')).toBe(step !== 2);
      expect(notifier.includes('/index/byOwner"')).toBe(step === 2);
      expect(reminders.includes('/index/byExpiryDay"')).toBe(step !== undefined);
    },
  );
});
