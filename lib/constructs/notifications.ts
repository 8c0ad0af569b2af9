import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as ses from 'aws-cdk-lib/aws-ses';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { INDEXES, KEYS } from '../../lambdas/adapters/table-definition.js';
import { IDEMPOTENCY_PREFIX } from '../../lambdas/core/notifications/idempotency.js';
import { DEFAULT_REMINDER_WINDOW_DAYS } from '../../lambdas/core/notifications/reminders.js';
import { FUNCTION_ENTRIES } from '../../lambdas/routes.js';
import { ENV } from '../../lambdas/runtime/env.js';
import { ServiceFunction } from '../service-function.js';
import { deadLetterQueue, queueDepthAlarm } from './dead-letter-queue.js';

/** The prefix of every token item's partition key: the only records the notifier is invoked for. */
const TOKEN_PK_PREFIX = KEYS.token('').pk;

export interface NotificationsProps {
  /** The service's table; its stream (NEW_AND_OLD_IMAGES) feeds the notifier. */
  readonly table: dynamodb.ITable;
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
  public readonly eventSource: DynamoEventSource;
  public readonly reminderRule: events.Rule;

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

    const environment = {
      [ENV.tableName]: table.tableName,
      [ENV.notificationSenderAddress]: props.senderAddress,
    };

    this.deadLetterQueue = deadLetterQueue(
      this,
      'DeadLetterQueue',
      'the notifier stream mapping on-failure destination',
    );
    this.reminderDeadLetterQueue = deadLetterQueue(
      this,
      'ReminderDeadLetterQueue',
      'the reminder job: EventBridge target DLQ and Lambda on-failure destination',
    );

    // The notifier: stream records of token items → emails.
    this.notifier = new ServiceFunction(this, 'Notifier', {
      entry: FUNCTION_ENTRIES.notifier,
      description: 'Access Tokens: emails token owners about their tokens (table stream to SES)',
      // Records start only with 20 s left (one delivery's worst case), so 60 s leaves 40 s of work.
      timeout: Duration.seconds(60),
      environment,
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
    });
    this.eventSource = new DynamoEventSource(table, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize ?? 10,
      parallelizationFactor: 1,
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts: props.retryAttempts ?? 10,
      maxRecordAge: props.maxRecordAge ?? Duration.hours(6),
      onFailure: new SqsDlq(this.deadLetterQueue),
      // Only token items: credentials, limit counters and the notifier's own idempotency records
      // never invoke it.
      filters: [
        lambda.FilterCriteria.filter({
          dynamodb: { Keys: { pk: { S: lambda.FilterRule.beginsWith(TOKEN_PK_PREFIX) } } },
        }),
      ],
    });
    this.notifier.function.addEventSource(this.eventSource);

    // The reminder job: daily; a failed run is retried (idempotent), then parked in its queue.
    this.reminderJob = new ServiceFunction(this, 'ReminderJob', {
      entry: FUNCTION_ENTRIES.reminderJob,
      description: 'Access Tokens: daily reminders for tokens that expire soon',
      timeout: Duration.minutes(5),
      environment: { ...environment, [ENV.reminderWindowDays]: String(reminderWindowDays) },
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
    });
    this.reminderJob.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(this.reminderDeadLetterQueue),
    });
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
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*]',
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
    }
    this.reminderJob.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'QueryTokensByExpiryDay',
        actions: ['dynamodb:Query'],
        resources: [`${table.tableArn}/index/${INDEXES.byExpiryDay.indexName}`],
      }),
    );
    Validations.of(this.notifier.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams (added by the DynamoDB event source) has no resource-level permissions and needs "*"; reading the stream itself is limited to this table\'s stream ARN.',
    });

    // Alarms: anything in a dead-letter queue is an email that did not go out.
    this.deadLetterAlarm = queueDepthAlarm(
      this,
      'DeadLetterAlarm',
      this.deadLetterQueue,
      'Token notification emails failed after all retries (records in the notifier dead-letter queue)',
      props.alarmActions,
    );
    this.reminderDeadLetterAlarm = queueDepthAlarm(
      this,
      'ReminderDeadLetterAlarm',
      this.reminderDeadLetterQueue,
      'Token expiry reminder runs failed after all retries',
      props.alarmActions,
    );
  }
}
