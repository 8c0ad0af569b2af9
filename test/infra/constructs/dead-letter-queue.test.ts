import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { deadLetterQueue, queueDepthAlarm } from '../../../lib/constructs/dead-letter-queue.js';
import { logicalIdOf, ref } from '../helpers.js';

// The dead-letter queue and its depth alarm, in a stack of their own.

describe('dead-letter queue and its alarm', () => {
  const stack = new Stack(new App(), 'DeadLetterQueueTest');
  const queue = deadLetterQueue(stack, 'Queue', 'the test consumer');
  const topic = new sns.Topic(stack, 'Topic');
  queueDepthAlarm(stack, 'Alarm', queue, 'Test records failed', [new SnsAction(topic)]);
  const template = Template.fromStack(stack);

  it('keeps messages 14 days, encrypted, and refuses requests without TLS', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    const [policy] = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
    expect(policy?.Properties.Queues).toEqual([ref(queue)]);
    expect(JSON.stringify(policy?.Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
  });

  it('alarms as soon as one message is visible, naming the stack, with the given actions', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: 'Test records failed. Stack: DeadLetterQueueTest.',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalIdOf(queue), 'QueueName'] } }],
      AlarmActions: [ref(topic)],
    });
  });
});
