import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import {
  FUNCTION_ARCHITECTURE,
  FUNCTION_RUNTIME,
  SERVICE_NAME,
  ServiceFunction,
} from '../../../lib/constructs/service-function.js';
import { FUNCTION_ENTRIES } from '../../../lib/function-entries.js';
import { arnOf, logicalIdOf, ref, statementsOfRole } from '../helpers.js';

// ServiceFunction in a stack of its own. Bundling is skipped: the assertions read the template.

describe('ServiceFunction construct', () => {
  const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'ServiceFunctionTest');
  const fn = new ServiceFunction(stack, 'Fn', {
    entry: FUNCTION_ENTRIES.demoApi,
    description: 'test function',
    environment: { EXTRA: 'yes' },
    logRetention: logs.RetentionDays.ONE_MONTH,
  });
  const template = Template.fromStack(stack);
  const properties = template.findResources('AWS::Lambda::Function')[logicalIdOf(fn.function)]?.Properties;

  it('runs on the newest Node.js, ARM, with Powertools settings, source maps and the given environment', () => {
    expect(properties).toMatchObject({
      Runtime: FUNCTION_RUNTIME.name,
      Architectures: [FUNCTION_ARCHITECTURE.name],
      MemorySize: 256,
      Timeout: 10,
      Role: arnOf(fn.role),
      LoggingConfig: { LogGroup: ref(fn.logGroup) },
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
          POWERTOOLS_LOG_LEVEL: 'INFO',
          EXTRA: 'yes',
        },
      },
    });
  });

  it('has its own log group and a role that may only write to it, with no managed policy', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    const role = template.findResources('AWS::IAM::Role')[logicalIdOf(fn.role)];
    expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
    expect(statementsOfRole(template, logicalIdOf(fn.role))).toEqual([
      {
        Sid: 'WriteOwnLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: arnOf(fn.logGroup),
      },
    ]);
  });
});
