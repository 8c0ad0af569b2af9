import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { PolicySettings } from '../../lambdas/core/settings.js';
import { ENV } from '../../lambdas/runtime/env.js';
import { FUNCTION_ENTRIES } from '../function-entries.js';
import { deadLetterQueue, queueDepthAlarm } from './dead-letter-queue.js';
import { ServiceFunction } from './service-function.js';
import type { TokenTable } from './token-table.js';

// Revoke-all jobs (lambdas/core/revoke-all-job.ts): DELETE /tokens does what it can within the
// request and queues the rest; the worker runs slices of at most WORKER_SLICE_MS (40 s) in a 60 s
// function and queues the job again while tokens are left. A slice that keeps failing is parked in
// the dead-letter queue, which alarms.

interface RevokeAllJobsProps {
  readonly table: TokenTable;
  readonly policy: PolicySettings;
  /** The DELETE /tokens route's function: it may queue work. */
  readonly routeFunction: ServiceFunction;
  readonly logRetention?: logs.RetentionDays;
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
}

export class RevokeAllJobs extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly worker: ServiceFunction;
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /** A job waits: a message sat on the queue for over 15 minutes (the worker is not keeping up). */
  public readonly backlogAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: RevokeAllJobsProps) {
    super(scope, id);
    this.deadLetterQueue = deadLetterQueue(this, 'DeadLetterQueue', 'the revoke-all jobs');
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Six times the worker's timeout, as AWS advises for a Lambda event source.
      visibilityTimeout: Duration.minutes(6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });
    this.worker = new ServiceFunction(this, 'Worker', {
      entry: FUNCTION_ENTRIES.revokeAllWorker,
      description: 'Access Tokens: finishes revoke-all jobs of large accounts',
      timeout: Duration.seconds(60),
      environment: {
        [ENV.policySettings]: JSON.stringify(props.policy),
        [ENV.tableName]: props.table.table.tableName,
        [ENV.revokeAllQueueUrl]: this.queue.queueUrl,
      },
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
    });
    props.table.grantReadWrite(this.worker.role);
    this.worker.function.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 1, maxConcurrency: 2, reportBatchItemFailures: true }),
    );
    for (const child of this.worker.function.node.children) {
      if (!(child instanceof lambda.EventSourceMapping)) continue;
      Validations.of(child).acknowledge({
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason:
          "An SQS event source: a message that keeps failing goes to the queue's own dead-letter queue (redrive policy, 5 receives), which alarms; an on-failure destination is for stream sources.",
      });
    }
    this.queue.grantSendMessages(this.worker.role);
    this.queue.grantSendMessages(props.routeFunction.role);
    props.routeFunction.function.addEnvironment(ENV.revokeAllQueueUrl, this.queue.queueUrl);
    this.deadLetterAlarm = queueDepthAlarm(
      this,
      'DeadLetterAlarm',
      this.deadLetterQueue,
      'A revoke-all job slice failed repeatedly: tokens of that job may still be active; repeat the revoke-all (safe) after fixing the cause',
      props.alarmActions,
    );
    this.backlogAlarm = new cloudwatch.Alarm(this, 'BacklogAlarm', {
      alarmDescription: `Revoke-all jobs are waiting (a slice waited over 15 minutes on the revoke-all queue): tokens meant to be revoked may still work. Stack: ${Stack.of(this).stackName}.`,
      metric: this.queue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: Duration.minutes(15).toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmActions !== undefined) this.backlogAlarm.addAlarmAction(...props.alarmActions);
  }
}
