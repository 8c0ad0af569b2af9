import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { type DynamoEventSource, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CONTACT_PREFIX } from '../../lambdas/adapters/dynamo-owner-contacts.js';
import { indexLayout, indexNamesAt, KEYS } from '../../lambdas/adapters/table-definition.js';
import { IDEMPOTENCY_PREFIX } from '../../lambdas/core/notifications/idempotency.js';
import {
  DEFAULT_REMINDER_WINDOW_DAYS,
  REMINDER_WORKERS,
} from '../../lambdas/core/notifications/reminders.js';
import { NOTIFIER_FILTER_PATTERNS } from '../../lambdas/notifier/filter.js';
import { ENV } from '../../lambdas/runtime/env.js';
import { FUNCTION_ENTRIES } from '../function-entries.js';
import { nagAccountOf, nagRegionOf } from '../nag-names.js';
import { deadLetterQueue, queueDepthAlarm } from './dead-letter-queue.js';
import { ServiceFunction } from './service-function.js';
import { TableStreamConsumer } from './table-stream-consumer.js';

export interface NotificationsProps {
  /** The service's table; its stream (NEW_AND_OLD_IMAGES) feeds the notifier. */
  readonly table: dynamodb.ITable;
  /**
   * The table's index upgrade step (TokenTable's `indexUpgradeStep`): which indexes the functions
   * query. @default undefined: the current indexes
   */
  readonly indexUpgradeStep?: number;
  /** The From address of every notification email. */
  readonly senderAddress: string;
  /**
   * The SES identity the sender address belongs to: an email address or a domain.
   * @default the sender address
   */
  readonly sesIdentity?: string;
  /**
   * Whether the SES identity exists (verified) already, outside this stack. If false, the construct
   * creates it (an email identity sends a verification email; a domain identity needs its DKIM
   * records in DNS, see {@link Notifications.dkimRecords}). A created identity is retained when it
   * leaves the stack (switching this to true, or `cdk destroy`): verified by hand, it must not be
   * deleted by a settings change.
   * @default false
   */
  readonly sesIdentityExists?: boolean;
  /** @default 7 */
  readonly reminderWindowDays?: number;
  /** @default every day at 08:00 UTC */
  readonly reminderSchedule?: events.Schedule;
  /**
   * Times Lambda retries a failed stream record (after bisecting the batch) before it goes to the
   * dead-letter queue.
   * @default 10
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this are not retried any more but sent to the dead-letter queue (the
   * stream keeps records for 24 hours).
   * @default Duration.hours(6)
   */
  readonly maxRecordAge?: Duration;
  /** @default 10 */
  readonly batchSize?: number;
  /**
   * SES's maximum send rate to pace emails to (emails per second).
   * @default looked up from SES (GetSendQuota) by each function
   */
  readonly maxSendRate?: number;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Actions of the dead-letter queue alarms (e.g. an SNS topic).
   * @default none: the alarms show in CloudWatch only
   */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
}

/**
 * Token emails: the notifier Lambda on the table's stream (created, rotated, revoked, expired), the
 * daily reminder job, the SES identity they send from, and where failures end up (two encrypted SQS
 * dead-letter queues, each with an alarm).
 *
 * The stream consumer starts at TRIM_HORIZON: whatever the stream still holds when the mapping is
 * (re)created gets its email, and what was sent already is skipped by the idempotency records
 * (kept for a week), so nothing is lost and nothing is sent twice. A failed record is retried
 * (bisecting the batch) up to `retryAttempts` times or `maxRecordAge`, whichever comes first; then a
 * message describing the failed records (shard and sequence numbers, not the records) goes to the
 * dead-letter queue, and its alarm fires.
 */
export class Notifications extends Construct {
  /** The notifier on the table's stream, with its mapping, dead-letter queue and alarm. */
  public readonly streamConsumer: TableStreamConsumer;
  public readonly notifier: ServiceFunction;
  public readonly reminderJob: ServiceFunction;
  public readonly emailIdentity: ses.IEmailIdentity;
  /**
   * The DKIM CNAME records to publish in DNS, for a domain identity this construct creates (SES
   * verifies the domain by them); empty otherwise.
   */
  public readonly dkimRecords: readonly ses.DkimRecord[];
  /** The stream's on-failure destination: metadata of records that exhausted their retries. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The reminder job's failed runs (asynchronous invocation failures and undeliverable events). */
  public readonly reminderDeadLetterQueue: sqs.Queue;
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  public readonly reminderDeadLetterAlarm: cloudwatch.Alarm;
  /** The reminders fall behind: a task has waited on the reminder queue for over 6 hours. */
  public readonly reminderBacklogAlarm: cloudwatch.Alarm;
  public readonly eventSource: DynamoEventSource;
  public readonly reminderRule: events.Rule;
  /** The reminder job's work: one message per expiry day and page (and reminders to retry). */
  public readonly reminderQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    const { table } = props;
    if (table.tableStreamArn === undefined) {
      throw new Error('Notifications needs a table with a stream (NEW_AND_OLD_IMAGES)');
    }
    const sesIdentity = props.sesIdentity ?? props.senderAddress;
    const reminderWindowDays = props.reminderWindowDays ?? DEFAULT_REMINDER_WINDOW_DAYS;

    if (props.sesIdentityExists === true) {
      this.emailIdentity = ses.EmailIdentity.fromEmailIdentityName(this, 'EmailIdentity', sesIdentity);
      this.dkimRecords = [];
    } else {
      const isEmail = sesIdentity.includes('@');
      const identity = new ses.EmailIdentity(this, 'EmailIdentity', {
        identity: isEmail ? ses.Identity.email(sesIdentity) : ses.Identity.domain(sesIdentity),
      });
      // Kept when it leaves the template (sesIdentityExists false → true, `cdk destroy`): its
      // verification (the emailed link, the DKIM records in DNS) was done by hand. Deleted only by
      // the rollback of the deploy that created it, when nobody can have verified it yet.
      identity.applyRemovalPolicy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);
      this.emailIdentity = identity;
      this.dkimRecords = isEmail ? [] : identity.dkimRecords;
    }

    const step = props.indexUpgradeStep;
    const environment = {
      [ENV.tableName]: table.tableName,
      ...(indexLayout(step).reads === 'legacy' ? { [ENV.tableIndexes]: 'legacy' } : {}),
      [ENV.notificationSenderAddress]: props.senderAddress,
      ...(props.maxSendRate === undefined
        ? {}
        : { [ENV.notificationMaxSendRate]: String(props.maxSendRate) }),
    };

    this.reminderDeadLetterQueue = deadLetterQueue(
      this,
      'ReminderDeadLetterQueue',
      'the reminder job: EventBridge target DLQ and Lambda on-failure destination',
    );

    // The notifier: stream records of token items → emails. `Default`: its function, queue and
    // alarm keep the logical ids they were deployed with.
    this.streamConsumer = new TableStreamConsumer(this, 'Default', {
      table,
      functionId: 'Notifier',
      function: {
        entry: FUNCTION_ENTRIES.notifier,
        description: 'Access Tokens: emails token owners about their tokens (table stream to SES)',
        // An email starts only with 87 s left (one delivery's worst case with the SDK's enforced
        // timeouts); the rest is enough to wait out another delivery's whole claim lease (120 s), so
        // a claim in progress costs no stream retry (docs/security.md, "Emails").
        timeout: Duration.minutes(5),
        environment,
        logRetention: props.logRetention,
      },
      // Token items, contact items and revoke-all summaries only (lambdas/notifier/filter.ts).
      filterPatterns: NOTIFIER_FILTER_PATTERNS,
      deadLetterQueueOwner: 'the notifier stream mapping on-failure destination',
      // Anything in the dead-letter queue is an email that did not go out.
      deadLetterAlarmDescription:
        'Token notification emails failed after all retries (records in the notifier dead-letter queue)',
      wildcardResourceReason:
        'dynamodb:ListStreams (added by the DynamoDB event source) and ses:GetSendQuota (SES\'s send rate, to pace emails to) have no resource-level permissions and need "*"; reading the stream itself is limited to this table\'s stream ARN, and GetSendQuota reads a number and nothing else.',
      batchSize: props.batchSize,
      retryAttempts: props.retryAttempts,
      maxRecordAge: props.maxRecordAge,
      alarmActions: props.alarmActions,
    });
    this.notifier = this.streamConsumer.function;
    this.eventSource = this.streamConsumer.eventSource;
    this.deadLetterQueue = this.streamConsumer.deadLetterQueue;
    this.deadLetterAlarm = this.streamConsumer.deadLetterAlarm;

    // The reminder job: daily, it plans the run onto its queue; the queue's tasks are its work. A
    // failed run or task is retried (idempotent), then parked in its dead-letter queue.
    this.reminderQueue = new sqs.Queue(this, 'ReminderQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Six times the job's timeout, as AWS advises for a Lambda event source.
      visibilityTimeout: Duration.minutes(30),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.reminderDeadLetterQueue, maxReceiveCount: 3 },
    });
    this.reminderJob = new ServiceFunction(this, 'ReminderJob', {
      entry: FUNCTION_ENTRIES.reminderJob,
      description: 'Access Tokens: daily reminders for tokens that expire soon',
      timeout: Duration.minutes(5),
      environment: {
        ...environment,
        [ENV.reminderWindowDays]: String(reminderWindowDays),
        [ENV.reminderQueueUrl]: this.reminderQueue.queueUrl,
      },
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
    });
    this.reminderJob.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(this.reminderDeadLetterQueue),
    });
    this.reminderJob.function.addEventSource(
      new SqsEventSource(this.reminderQueue, {
        batchSize: 1,
        maxConcurrency: REMINDER_WORKERS,
        reportBatchItemFailures: true,
      }),
    );
    for (const child of this.reminderJob.function.node.children) {
      if (!(child instanceof lambda.EventSourceMapping)) continue;
      Validations.of(child).acknowledge({
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason:
          "An SQS event source: a message that keeps failing goes to the queue's own dead-letter queue (redrive policy, 3 receives: the reminder dead-letter queue, which alarms); an on-failure destination is for stream sources.",
      });
    }
    this.reminderQueue.grantSendMessages(this.reminderJob.role);
    this.reminderRule = new events.Rule(this, 'ReminderSchedule', {
      description: 'Access Tokens: runs the token expiry reminder job',
      schedule: props.reminderSchedule ?? events.Schedule.cron({ minute: '0', hour: '8' }),
      targets: [
        new targets.LambdaFunction(this.reminderJob.function, {
          retryAttempts: 4,
          maxEventAge: Duration.hours(6),
          deadLetterQueue: this.reminderDeadLetterQueue,
        }),
      ],
    });

    // Permissions. SES: only with the configured From address, on the identities SES authorizes.
    // SES checks the caller's permission on every identity a message involves: the sender's, and,
    // while the account is in the SES sandbox, each recipient's too (recipients must then be verified
    // identities of the account). A role allowed only on the sender identity gets "not authorized to
    // perform `ses:SendEmail' on resource `arn:aws:ses:<region>:<account>:identity/<recipient>'" in
    // the sandbox. Sources: "Identity and access management in Amazon SES" (SES Developer Guide,
    // https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html: "If your account is in the
    // SES sandbox, its restrictions will prevent the implementation of some of these policies"), the
    // sandbox rule in "Request production access"
    // (https://docs.aws.amazon.com/ses/latest/dg/request-production-access.html), and the error as
    // reported in aws/aws-sdk-js#3641. So the resource is this account's and Region's identities
    // (`identity/*`), and least privilege comes from the `ses:FromAddress` condition: the functions
    // can only send as the configured sender, whatever the recipient ("Sending policy examples",
    // https://docs.aws.amazon.com/ses/latest/dg/sending-authorization-policy-examples.html).
    const accountIdentities = Stack.of(this).formatArn({
      service: 'ses',
      resource: 'identity',
      resourceName: '*',
    });
    for (const fn of [this.notifier, this.reminderJob]) {
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'SendAsConfiguredSender',
          actions: ['ses:SendEmail', 'ses:SendRawEmail'],
          resources: [accountIdentities],
          conditions: { StringEquals: { 'ses:FromAddress': props.senderAddress } },
        }),
      );
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:${nagRegionOf(Stack.of(fn))}:${nagAccountOf(Stack.of(fn))}:identity/*]`,
        reason:
          "SES authorizes the sender's identity and, while the account is in the SES sandbox, each recipient's identity too, so sending needs every identity of this account and Region; the statement only allows ses:SendEmail/SendRawEmail with ses:FromAddress equal to the configured sender.",
      });
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'IdempotencyRecords',
          actions: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
          resources: [table.tableArn],
          conditions: {
            'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${IDEMPOTENCY_PREFIX}*`] },
          },
        }),
      );
      // Pacing: SES's send rate. GetSendQuota has no resource-level permissions.
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid: 'ReadSendQuota', actions: ['ses:GetSendQuota'], resources: ['*'] }),
      );
    }
    Validations.of(this.reminderJob.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ses:GetSendQuota (SES\'s send rate, to pace emails to) has no resource-level permissions and needs "*"; it reads a number and nothing else.',
    });
    // The notifier keeps owners' current addresses (contact items) and finds the tokens of a
    // revoke-all through the owner and account indexes, then reads them (consistently), for its summary.
    this.notifier.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'OwnerContacts',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${CONTACT_PREFIX}*`] } },
      }),
    );
    this.notifier.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'QueryTokensOfRevokeAll',
        actions: ['dynamodb:Query'],
        resources: [...indexNamesAt('byOwner', step), ...indexNamesAt('byAccount', step)].map(
          (name) => `${table.tableArn}/index/${name}`,
        ),
      }),
    );
    this.notifier.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTokensOfRevokeAll',
        actions: ['dynamodb:BatchGetItem'],
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${KEYS.token('').pk}*`] } },
      }),
    );
    // The reminder job reads each candidate token again (consistently) and its owner's address.
    this.reminderJob.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTokensAndContacts',
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
        resources: [table.tableArn],
        conditions: {
          'ForAllValues:StringLike': {
            'dynamodb:LeadingKeys': [`${KEYS.token('').pk}*`, `${CONTACT_PREFIX}*`],
          },
        },
      }),
    );
    this.reminderJob.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'QueryTokensByExpiryDay',
        actions: ['dynamodb:Query'],
        resources: indexNamesAt('byExpiryDay', step).map((name) => `${table.tableArn}/index/${name}`),
      }),
    );
    // Alarms: anything in the reminder dead-letter queue is a run that did not go out.
    this.reminderDeadLetterAlarm = queueDepthAlarm(
      this,
      'ReminderDeadLetterAlarm',
      this.reminderDeadLetterQueue,
      'Token expiry reminder runs failed after all retries',
      props.alarmActions,
    );
    this.reminderBacklogAlarm = new cloudwatch.Alarm(this, 'ReminderBacklogAlarm', {
      alarmDescription: `Token expiry reminders are falling behind (a task waited over 6 hours on the reminder queue). Stack: ${Stack.of(this).stackName}.`,
      metric: this.reminderQueue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(15),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: Duration.hours(6).toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmActions !== undefined) this.reminderBacklogAlarm.addAlarmAction(...props.alarmActions);
  }
}
