import { describe, expect, it } from 'vitest';
import { API_5XX_RATE_THRESHOLD } from '../../lib/constructs/service-alarms.js';
import { arnOf, logicalIdOf, type PolicyStatement, ref, synthesize, WITH_EMAILS } from './helpers.js';

// Hardening invariants of the full stack (Cognito, demo API, emails on), read from one synthesized
// template: least privilege, no secrets in API Gateway logs, bounded log retention, a failure
// destination for every asynchronous consumer, and alarms on the failure paths.

const { stack, template } = synthesize({ context: WITH_EMAILS });

// `findResources` types a resource's properties as `any`: CloudFormation JSON, read as such here.
function resourcesOfType(type: string) {
  return Object.entries(template.findResources(type)).map(
    ([logicalId, resource]) => [logicalId, resource.Properties ?? {}] as const,
  );
}

function typeOf(logicalId: string): string | undefined {
  return template.toJSON().Resources[logicalId]?.Type;
}

function asArray<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

/** Every statement of every identity policy: role inline policies and AWS::IAM::Policy. */
function identityStatements(): { policy: string; statement: PolicyStatement }[] {
  const found: { policy: string; statement: PolicyStatement }[] = [];
  for (const [logicalId, role] of resourcesOfType('AWS::IAM::Role')) {
    for (const inline of role.Policies ?? []) {
      for (const statement of inline.PolicyDocument.Statement) found.push({ policy: logicalId, statement });
    }
  }
  for (const [logicalId, policy] of resourcesOfType('AWS::IAM::Policy')) {
    for (const statement of policy.PolicyDocument.Statement) found.push({ policy: logicalId, statement });
  }
  return found;
}

/**
 * The only wildcard resources allowed, each with its reason. A resource is "wildcard" when it is
 * `*` or contains one (`arn:...:*`, `${arn}:*`).
 */
const ALLOWED_WILDCARDS: readonly { action: string; resource: string; reason: string }[] = [
  {
    action: 'dynamodb:ListStreams',
    resource: '"*"',
    reason:
      'Added by the DynamoDB event source of the notifier and the expiry ledger: ListStreams has no resource-level permissions; reading the stream is limited to the table stream ARN.',
  },
  ...['ses:SendEmail', 'ses:SendRawEmail'].map((action) => ({
    action,
    resource: JSON.stringify({
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
    }),
    reason:
      "The notifier and the reminder job: SES authorizes the sender's identity and, in the SES sandbox, each recipient's identity too; the statement's ses:FromAddress condition limits it to the configured sender (lib/constructs/notifications.ts).",
  })),
  {
    action: 'ses:GetSendQuota',
    resource: '"*"',
    reason:
      "The notifier and the reminder job pace emails to SES's send rate; GetSendQuota has no resource-level permissions and reads a number only.",
  },
  {
    action: 'lambda:InvokeFunction',
    resource: JSON.stringify({
      'Fn::Join': [
        '',
        [arnOf(stack.hmacKey.node.findChild('ResourceHandler').node.findChild('Function')), ':*'],
      ],
    }),
    reason:
      "CDK's custom resource provider framework invokes its own handler function and that function's versions/aliases (`<arn>:*`): one function, not a wildcard over functions.",
  },
  // The console's deployment (aws-cdk-lib's BucketDeployment, lib/constructs/console-hosting.ts).
  ...['s3:GetObject*', 's3:GetBucket*', 's3:List*'].map((action) => ({
    action,
    resource: JSON.stringify({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':s3:::',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a template.
          { 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}' },
          '/*',
        ],
      ],
    }),
    reason:
      "The console's deployment function reads the uploaded app from the CDK bootstrap asset bucket, where it is an object named by its hash (BucketDeployment's grant, on that bucket's objects).",
  })),
  ...[
    's3:GetObject*',
    's3:GetBucket*',
    's3:List*',
    's3:DeleteObject*',
    's3:PutObject',
    's3:PutObjectLegalHold',
    's3:PutObjectRetention',
    's3:PutObjectTagging',
    's3:PutObjectVersionTagging',
    's3:Abort*',
  ].map((action) => ({
    action,
    resource: JSON.stringify({ 'Fn::Join': ['', [consoleBucketArn(), '/*']] }),
    reason:
      "The console's deployment function writes the app's files into the console bucket, which holds nothing else (BucketDeployment's read-write grant on its objects).",
  })),
  // Usage keys (lib/constructs/usage-plans.ts): the consumer and the create/update/get token routes.
  ...['apigateway:GET', 'apigateway:POST', 'apigateway:DELETE', 'apigateway:PATCH'].flatMap((action) =>
    ['apikeys', 'usageplans'].map((collection) => ({
      action,
      resource: JSON.stringify({
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':apigateway:', { Ref: 'AWS::Region' }, `::/${collection}/*`],
        ],
      }),
      reason:
        "API keys and usage plans have generated ids and no tag-based scoping for every action: the grant names this Region's /apikeys and /usageplans collections, no REST API, stage or account setting.",
    })),
  ),
  ...['cloudfront:GetInvalidation', 'cloudfront:CreateInvalidation'].map((action) => ({
    action,
    resource: '"*"',
    reason:
      "The console's deployment function invalidates index.html and config.json after an upload; aws-cdk-lib's BucketDeployment grants the invalidation actions on `*`.",
  })),
];

function consoleBucketArn() {
  const bucket = stack.console?.bucket;
  if (bucket === undefined) throw new Error('this synthesis has the console');
  return arnOf(bucket);
}

function isWildcard(resource: unknown): boolean {
  return JSON.stringify(resource).includes('*');
}

describe('IAM identity policies', () => {
  it('grant no wildcard resource outside the listed exceptions', () => {
    const wildcards = identityStatements().flatMap(({ policy, statement }) =>
      asArray(statement.Resource as unknown)
        .filter(isWildcard)
        .flatMap((resource) =>
          asArray(statement.Action).map((action) => ({ policy, action, resource: JSON.stringify(resource) })),
        ),
    );
    const unexpected = wildcards.filter(
      (wildcard) =>
        !ALLOWED_WILDCARDS.some(
          (allowed) => allowed.action === wildcard.action && allowed.resource === wildcard.resource,
        ),
    );
    expect(unexpected).toEqual([]);
    // Every exception is still in use (drop it from the list when it is not).
    for (const allowed of ALLOWED_WILDCARDS) {
      expect(
        wildcards.some(
          (wildcard) => wildcard.action === allowed.action && wildcard.resource === allowed.resource,
        ),
        allowed.action,
      ).toBe(true);
      expect(allowed.reason.length).toBeGreaterThan(60);
    }
  });

  it('allow only (no Deny needed) and never a wildcard action', () => {
    for (const { policy, statement } of identityStatements()) {
      for (const action of asArray(statement.Action)) {
        expect(action, policy).not.toBe('*');
        expect(action, policy).not.toMatch(/^[a-z0-9-]+:\*$/);
      }
    }
  });
});

describe('API Gateway stages', () => {
  const stages = resourcesOfType('AWS::ApiGateway::Stage');

  it('exist for the management API and the demo API', () => {
    expect(stages).toHaveLength(2);
  });

  it.each(stages)(
    '%s: no data tracing (full request/response logging), execution logs at ERROR',
    (_id, stage) => {
      for (const setting of stage.MethodSettings ?? []) {
        expect(setting.DataTraceEnabled ?? false).toBe(false);
        expect(setting.LoggingLevel ?? 'OFF').toMatch(/^(ERROR|OFF)$/);
      }
      // The access log format carries request metadata only: no bodies, headers or authorizer context.
      const format: string = stage.AccessLogSetting.Format;
      expect(format).not.toMatch(
        /\$context\.(requestOverride|responseOverride|authorizer\.(?!principalId|error))/,
      );
      expect(format).not.toMatch(/\$input|\$method\.request\.header|logEvent/i);
    },
  );
});

describe('log groups', () => {
  it('every log group has a retention', () => {
    const logGroups = resourcesOfType('AWS::Logs::LogGroup');
    expect(logGroups.length).toBeGreaterThan(0);
    for (const [logicalId, logGroup] of logGroups) {
      expect(logGroup.RetentionInDays, logicalId).toEqual(expect.any(Number));
    }
  });

  it('every function logs to a log group of this stack (none to an implicit, never-expiring one)', () => {
    const logGroupIds = new Set(resourcesOfType('AWS::Logs::LogGroup').map(([logicalId]) => logicalId));
    for (const [logicalId, fn] of resourcesOfType('AWS::Lambda::Function')) {
      const logGroup = fn.LoggingConfig?.LogGroup;
      expect(logGroup, logicalId).toBeDefined();
      expect(logGroupIds.has(logGroup.Ref), logicalId).toBe(true);
    }
  });
});

describe('asynchronous and stream consumers', () => {
  it('every stream event source mapping has an on-failure destination, every queue one a dead-letter queue', () => {
    const mappings = resourcesOfType('AWS::Lambda::EventSourceMapping');
    // The notifier, the expiry ledger, the usage-key consumer (streams) and the revoke-all jobs (SQS).
    expect(mappings).toHaveLength(5);
    const queues = Object.fromEntries(resourcesOfType('AWS::SQS::Queue'));
    for (const [logicalId, mapping] of mappings) {
      const queueId: string | undefined = mapping.EventSourceArn?.['Fn::GetAtt']?.[0];
      if (queueId !== undefined && typeOf(queueId) === 'AWS::SQS::Queue') {
        // An SQS source: failed messages go to the queue's dead-letter queue (its redrive policy).
        expect(queues[queueId]?.RedrivePolicy?.deadLetterTargetArn, logicalId).toBeDefined();
        expect(queues[queueId]?.RedrivePolicy?.maxReceiveCount, logicalId).toEqual(expect.any(Number));
        continue;
      }
      expect(mapping.DestinationConfig?.OnFailure?.Destination, logicalId).toBeDefined();
      expect(mapping.MaximumRetryAttempts, logicalId).toEqual(expect.any(Number));
    }
  });

  it('every scheduled Lambda target has a DLQ and a retry policy, and the function an on-failure destination', () => {
    const invokeConfigs = resourcesOfType('AWS::Lambda::EventInvokeConfig');
    const rules = resourcesOfType('AWS::Events::Rule');
    expect(rules.length).toBeGreaterThan(0);
    for (const [ruleId, rule] of rules) {
      for (const target of rule.Targets) {
        expect(target.DeadLetterConfig?.Arn, ruleId).toBeDefined();
        expect(target.RetryPolicy?.MaximumRetryAttempts, ruleId).toEqual(expect.any(Number));
        const functionId: string | undefined = target.Arn['Fn::GetAtt']?.[0];
        if (functionId === undefined || typeOf(functionId) !== 'AWS::Lambda::Function') continue;
        const config = invokeConfigs.find(([, invokeConfig]) => invokeConfig.FunctionName.Ref === functionId);
        expect(config?.[1].DestinationConfig?.OnFailure?.Destination, functionId).toBeDefined();
      }
    }
  });
});

describe('alarms', () => {
  const alarms = resourcesOfType('AWS::CloudWatch::Alarm').map(([, alarm]) => alarm);

  it("alarm on every dead-letter queue's depth, and on the age of each work queue's oldest message", () => {
    const queues = resourcesOfType('AWS::SQS::Queue');
    expect(queues).toHaveLength(7);
    // Revoke-all jobs (lib/constructs/revoke-all-jobs.ts): a job waiting 15 minutes alarms.
    const jobQueueId = logicalIdOf(stack.revokeAllJobs.queue);
    expect(
      alarms.find(
        (alarm) =>
          alarm.MetricName === 'ApproximateAgeOfOldestMessage' &&
          JSON.stringify(alarm.Dimensions) ===
            JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [jobQueueId, 'QueueName'] } }]),
      ),
    ).toMatchObject({ Threshold: 15 * 60, ComparisonOperator: 'GreaterThanThreshold' });
    const { notifications } = stack;
    if (notifications === undefined) throw new Error('this synthesis has emails on');
    const workQueueId = logicalIdOf(notifications.reminderQueue);
    expect(
      alarms.find(
        (alarm) =>
          alarm.MetricName === 'ApproximateAgeOfOldestMessage' &&
          JSON.stringify(alarm.Dimensions) ===
            JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [workQueueId, 'QueueName'] } }]),
      ),
    ).toMatchObject({ Threshold: 6 * 3600, ComparisonOperator: 'GreaterThanThreshold' });
    for (const [queueId] of queues.filter(([id]) => id !== workQueueId && id !== jobQueueId)) {
      const depthAlarm = alarms.find(
        (alarm) =>
          alarm.MetricName === 'ApproximateNumberOfMessagesVisible' &&
          JSON.stringify(alarm.Dimensions) ===
            JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }]),
      );
      expect(depthAlarm, queueId).toMatchObject({
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        Statistic: 'Maximum',
      });
    }
  });

  it('alarm on any token authorizer error within 5 minutes', () => {
    expect(
      alarms.find(
        (alarm) =>
          alarm.MetricName === 'Errors' &&
          JSON.stringify(alarm.Dimensions) ===
            JSON.stringify([{ Name: 'FunctionName', Value: ref(stack.tokenAuthorizer.function) }]),
      ),
    ).toMatchObject({
      Namespace: 'AWS/Lambda',
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it.each(['AccessTokens-management', 'AccessTokens-demo'])('alarm on the 5XX rate of %s', (apiName) => {
    expect(
      alarms.find(
        (alarm) =>
          alarm.MetricName === '5XXError' &&
          JSON.stringify(alarm.Dimensions) === JSON.stringify([{ Name: 'ApiName', Value: apiName }]),
      ),
    ).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      Statistic: 'Average',
      Period: 300,
      Threshold: API_5XX_RATE_THRESHOLD,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('the 5XX alarms watch the APIs of this stack', () => {
    const apiNames = resourcesOfType('AWS::ApiGateway::RestApi').map(([, api]) => api.Name);
    expect(apiNames.sort()).toEqual(['AccessTokens-demo', 'AccessTokens-management']);
    expect(logicalIdOf(stack.alarms.tokenAuthorizerErrors)).toBeDefined();
  });
});
