import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

// The dead-letter queues of the stream consumers and the reminder schedule, and the alarm on each:
// one definition, so every failure destination is encrypted, SSL-only, kept 14 days and watched.

/** An encrypted, SSL-only queue that keeps failed records for 14 days; `owner` names whose it is. */
export function deadLetterQueue(scope: Construct, id: string, owner: string): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This queue is itself a dead-letter queue (${owner}); nothing consumes it automatically, and its depth alarms.`,
  });
  Validations.of(queue).acknowledge({
    id: 'Serverless-SQSRedrivePolicy',
    reason: `This queue is itself the dead-letter queue of ${owner}; a dead-letter queue of a dead-letter queue would only hide failed records one level further away.`,
  });
  return queue;
}

/** Alarms as soon as one message sits in the queue (maximum over 5 minutes > 0). */
export function queueDepthAlarm(
  scope: Construct,
  id: string,
  queue: sqs.IQueue,
  description: string,
  actions: readonly cloudwatch.IAlarmAction[] | undefined,
): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    alarmDescription: `${description}. Stack: ${Stack.of(scope).stackName}.`,
    metric: queue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(5),
      statistic: cloudwatch.Stats.MAXIMUM,
    }),
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  if (actions !== undefined) alarm.addAlarmAction(...actions);
  return alarm;
}
