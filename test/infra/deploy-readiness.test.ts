import { readFileSync } from 'node:fs';
import { App, CfnResource, FeatureFlags, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SETTINGS } from '../../lambdas/contract/policy-settings.js';
import { ENV } from '../../lambdas/runtime/env.js';
import { AccessTokensStack, EMAILS_OFF_WARNING_ID } from '../../lib/access-tokens-stack.js';
import { loadDeploymentConfig } from '../../lib/config.js';
import { REPO_ROOT, repoPath } from '../../lib/paths.js';
import {
  environmentSizeOf,
  LAMBDA_ENVIRONMENT_LIMIT_BYTES,
  UNRESOLVED_VALUE_BYTES,
} from '../../lib/stack-policies.js';
import { deploymentConfigOf } from '../../local/deployment-config.js';
import { handlerEnvironment, LOCAL_SENDER_ADDRESS } from '../../local/handler-environment.js';
import {
  appContext,
  cdkJsonContext,
  logicalIdOf,
  ref,
  type Synthesized,
  synthesize,
  WITH_EMAILS,
} from './helpers.js';

// What would break on the first `cdk deploy` (issue #17) and the account-wide API Gateway logging
// role (#11), checked offline on synthesized templates: each `describe` is one item.

/** The feature flags cdk.json pins (README "Deploy"). */
const PINNED_FLAGS = [
  '@aws-cdk/aws-apigateway:disableCloudWatchRole',
  '@aws-cdk/core:validateAgainstDefaultRules',
  '@aws-cdk/aws-apigateway:logGroupDestinationArnWithoutWildcard',
  '@aws-cdk/aws-apigateway:authorizerChangeDeploymentLogicalId',
] as const;

// `findResources` types a resource as `any`: CloudFormation JSON, read as such here.
function resourcesOfType(template: Template, type: string) {
  return Object.entries(template.findResources(type));
}

function identityIdOf(synth: Synthesized): string {
  const identity = synth.stack.notifications?.emailIdentity;
  if (identity === undefined) throw new Error('emails are off');
  return logicalIdOf(identity);
}

let shipped: Synthesized; // cdk.json as shipped: no sender
let withEmails: Synthesized; // + a sender on a domain identity (the README's deploy command)

beforeAll(() => {
  shipped = synthesize({ fresh: true });
  withEmails = synthesize({ context: WITH_EMAILS, fresh: true });
}, 240_000);

describe('#17.2 without a sender, the stack deploys with emails off', () => {
  it('has no notifier, no reminder job, no SES identity and no permission to send', () => {
    const { template, stack } = shipped;
    expect(stack.notifications).toBeUndefined();
    for (const [logicalId, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      expect(fn.Properties.Environment?.Variables ?? {}, logicalId).not.toHaveProperty(
        ENV.notificationSenderAddress,
      );
    }
    template.resourceCountIs('AWS::SES::EmailIdentity', 0);
    template.resourceCountIs('AWS::Events::Rule', 0);
    // The expiry ledger's and the usage-key consumer's mappings and the revoke-all jobs' queue only.
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toContain('ses:');
  });

  it('says so in a synth warning and in the EmailNotifications output', () => {
    Annotations.fromStack(shipped.stack).hasWarning(
      '/AccessTokens',
      Match.stringLikeRegexp(`Emails are OFF.*-c senderAddress=.*${EMAILS_OFF_WARNING_ID}`),
    );
    shipped.template.hasOutput('EmailNotifications', { Value: Match.stringLikeRegexp('^off: ') });
    expect(Object.keys(shipped.template.findOutputs('*'))).not.toContain('NotificationDeadLetterQueueUrl');
  });

  it('turns emails on with -c senderAddress=..., with no warning', () => {
    const { template, stack } = withEmails;
    expect(stack.notifications).toBeDefined();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ [ENV.notificationSenderAddress]: WITH_EMAILS.senderAddress }),
      },
    });
    template.hasOutput('EmailNotifications', {
      Value: `on: from ${WITH_EMAILS.senderAddress} through the SES identity ${WITH_EMAILS.sesIdentity}`,
    });
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('Emails are OFF'));
  });

  it('leaves `npm start` its own local sender', () => {
    const input = {
      policy: shipped.config.policy,
      tableName: 't',
      hmacKeyFile: '/k',
      gatewayUrl: 'http://127.0.0.1:1',
      dynamoDbUrl: 'http://127.0.0.1:2',
      sesUrl: 'http://127.0.0.1:3',
    };
    expect(
      handlerEnvironment({ ...input, config: deploymentConfigOf(REPO_ROOT) })[ENV.notificationSenderAddress],
    ).toBe(LOCAL_SENDER_ADDRESS);
    expect(handlerEnvironment({ ...input, config: withEmails.config })[ENV.notificationSenderAddress]).toBe(
      WITH_EMAILS.senderAddress,
    );
  });
});

describe('README: the deploy command and the first deploy checklist match the stack', () => {
  const readme = readFileSync(repoPath('README.md'), 'utf8');

  it('shows the sender setting in the deploy command', () => {
    expect(readme).toMatch(/npx cdk deploy -c senderAddress=\S+@\S+/);
  });

  it('names the bootstrap version the template checks, and has the checklist and the teardown', () => {
    const rule = JSON.stringify(shipped.template.toJSON().Rules?.CheckBootstrapVersion);
    expect(rule).toContain(JSON.stringify(['1', '2', '3', '4', '5']));
    expect(readme).toContain('CDK bootstrap stack version 6');
    expect(readme).toContain('### First deploy checklist');
    expect(readme).toContain('### Tear down');
  });
});

describe('#17.4 the SES identity survives sesIdentityExists false → true', () => {
  it('is retained when it leaves the template, and the stack then only names it', () => {
    const identityId = identityIdOf(withEmails);
    withEmails.template.hasResource('AWS::SES::EmailIdentity', {
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
    });
    const existing = synthesize({ context: { ...WITH_EMAILS, sesIdentityExists: true } });
    existing.template.resourceCountIs('AWS::SES::EmailIdentity', 0);
    // The update removes the resource from the template: its DeletionPolicy decides, and it keeps it.
    expect(Object.keys(existing.template.toJSON().Resources)).not.toContain(identityId);
    expect(Object.keys(existing.template.findOutputs('*')).filter((id) => id.startsWith('SesDkim'))).toEqual(
      [],
    );
  });

  it('outputs the three DKIM CNAME records of a domain identity it creates', () => {
    const identityId = identityIdOf(withEmails);
    for (const n of [1, 2, 3]) {
      withEmails.template.hasOutput(`SesDkimRecord${n}`, {
        Value: {
          'Fn::Join': [
            ' ',
            [
              { 'Fn::GetAtt': [identityId, `DkimDNSTokenName${n}`] },
              'CNAME',
              { 'Fn::GetAtt': [identityId, `DkimDNSTokenValue${n}`] },
            ],
          ],
        },
      });
    }
  });
});

describe('#17.5 a failed first deploy leaves no orphans; destroy keeps the data', () => {
  it('log groups and the SES identity: retained, except by the rollback of the deploy that created them', () => {
    const { template } = withEmails;
    const logGroups = resourcesOfType(template, 'AWS::Logs::LogGroup');
    expect(logGroups.length).toBeGreaterThan(20);
    for (const [logicalId, logGroup] of logGroups) {
      expect([logGroup.DeletionPolicy, logGroup.UpdateReplacePolicy], logicalId).toEqual([
        'RetainExceptOnCreate',
        'Retain',
      ]);
    }
    template.hasResource('AWS::SES::EmailIdentity', { DeletionPolicy: 'RetainExceptOnCreate' });
  });

  it('the deletion-protected table and user pool: plain Retain', () => {
    for (const type of ['AWS::DynamoDB::Table', 'AWS::Cognito::UserPool']) {
      withEmails.template.hasResource(type, { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
  });
});

describe('#17.7 limits nobody checked', () => {
  it("measures a function's environment as Lambda does: the JSON of all variables", () => {
    const stack = new Stack(new App({ context: appContext() }), 'Env');
    const fn = new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {};'),
      environment: { A: 'é', TABLE: new CfnResource(stack, 'T', { type: 'AWS::SQS::Queue' }).ref },
    });
    const cfn = fn.node.defaultChild;
    if (!(cfn instanceof lambda.CfnFunction)) throw new Error('no CfnFunction');
    expect(environmentSizeOf(cfn).bytes).toBe(
      Buffer.byteLength(JSON.stringify({ A: 'é', TABLE: 'x'.repeat(UNRESOLVED_VALUE_BYTES) })),
    );
  });

  it('every function of the shipped stack is well under 4 KB', () => {
    for (const construct of withEmails.stack.node.findAll()) {
      if (!(construct instanceof lambda.CfnFunction)) continue;
      expect(environmentSizeOf(construct).bytes, construct.node.path).toBeLessThan(
        LAMBDA_ENVIRONMENT_LIMIT_BYTES * 0.75,
      );
    }
  });

  it('fails the synth, naming the function and POLICY_SETTINGS, before an environment passes 4 KB', () => {
    const scopeAreas = [
      ...DEFAULT_POLICY_SETTINGS.scopeAreas,
      ...Array.from({ length: 160 }, (_, index) => `catalogue-area-number-${index}`),
    ];
    const app = new App({ context: appContext({ scopeAreas }) });
    const config = loadDeploymentConfig(app.node.getAllContext());
    new AccessTokensStack(app, 'AccessTokens', { config });
    expect(() => app.synth()).toThrow(
      /AccessTokens\/TokenAuthorizer\/Function[\s\S]*over Lambda's limit of 4096 bytes[\s\S]*Largest: POLICY_SETTINGS/,
    );
  });

  it('names each API after its stack, so two deployments in one account and Region never share 5XX metrics', () => {
    const app = new App({ context: appContext(WITH_EMAILS) });
    const config = loadDeploymentConfig(app.node.getAllContext());
    const stacks = ['TokensBlue', 'TokensGreen'].map(
      (stackName) => new AccessTokensStack(app, stackName, { config }),
    );
    const names = stacks.map((stack) => {
      const { stackName } = stack;
      const template = Template.fromStack(stack);
      const apiNames = resourcesOfType(template, 'AWS::ApiGateway::RestApi').map(
        ([, api]) => api.Properties.Name,
      );
      const alarmed = resourcesOfType(template, 'AWS::CloudWatch::Alarm')
        .filter(([, alarm]) => alarm.Properties.MetricName === '5XXError')
        .map(([, alarm]) => alarm.Properties.Dimensions[0].Value);
      expect(apiNames.sort()).toEqual([`${stackName}-demo`, `${stackName}-management`]);
      expect(alarmed.sort()).toEqual(apiNames.sort());
      return apiNames;
    });
    expect(new Set(names.flat()).size).toBe(4);
  });

  it('creates each stage’s execution log group (API Gateway’s name) with the configured retention, before the stage', () => {
    const { template, stack } = withEmails;
    const apis = [stack.managementApi.api, stack.demoApi?.api];
    for (const api of apis) {
      if (api === undefined) throw new Error('no demo API');
      const stage = api.deploymentStage;
      const [logGroupId] =
        resourcesOfType(template, 'AWS::Logs::LogGroup').find(
          ([, logGroup]) =>
            JSON.stringify(logGroup.Properties.LogGroupName) ===
            JSON.stringify({
              'Fn::Join': ['', ['API-Gateway-Execution-Logs_', ref(api), '/v1']],
            }),
        ) ?? [];
      expect(logGroupId, api.node.path).toBeDefined();
      expect(template.toJSON().Resources[logGroupId ?? '']?.Properties.RetentionInDays).toBe(365);
      expect(template.toJSON().Resources[logicalIdOf(stage)]?.DependsOn).toContain(logGroupId);
    }
  });
});

describe('#17.8 feature flags pinned in cdk.json, and seen by the tests', () => {
  it.each(PINNED_FLAGS)('%s: true in cdk.json, known to the installed aws-cdk-lib, in force', (flag) => {
    expect(cdkJsonContext()[flag]).toBe(true);
    expect(cxapi.FLAGS[flag], 'unknown to aws-cdk-lib').toBeDefined();
    expect(cxapi.CURRENTLY_RECOMMENDED_FLAGS[flag as keyof typeof cxapi.CURRENTLY_RECOMMENDED_FLAGS]).toBe(
      true,
    );
    expect(FeatureFlags.of(shipped.stack).isEnabled(flag)).toBe(true);
  });

  it('disableCloudWatchRole: a RestApi left to its defaults does not touch the account setting', () => {
    const stack = new Stack(new App({ context: appContext() }), 'Plain');
    new apigateway.RestApi(stack, 'Api').root.addMethod('GET');
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    template.resourceCountIs('AWS::IAM::Role', 0);
  });

  it('validateAgainstDefaultRules: a template CloudFormation would reject fails the synth', () => {
    const app = new App({ context: appContext() });
    new CfnResource(new Stack(app, 'Bad'), 'Queue', {
      type: 'AWS::SQS::Queue',
      properties: { MessageRetentionPeriod: 'a week' },
    });
    expect(() => app.synth()).toThrow(/MessageRetentionPeriod/);
  });
});

describe('#11 the account-wide API Gateway logging role', () => {
  it('managed (default): the stack sets it, and keeps role and setting on destroy', () => {
    const { template, stack, config } = withEmails;
    expect(config.apiGatewayCloudWatchRole).toBe('managed');
    const role = stack.apiGatewayCloudWatchRole;
    if (role === undefined) throw new Error('no role');
    template.hasResource('AWS::IAM::Role', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        AssumeRolePolicyDocument: Match.objectLike({
          Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })],
        }),
      }),
    });
    template.hasResource('AWS::ApiGateway::Account', {
      DeletionPolicy: 'Retain',
      Properties: { CloudWatchRoleArn: { 'Fn::GetAtt': [logicalIdOf(role.role), 'Arn'] } },
    });
  });

  it('existing: the stack leaves the account setting alone', () => {
    const { template, stack } = synthesize({ context: { apiGatewayCloudWatchRole: 'existing' } });
    expect(stack.apiGatewayCloudWatchRole).toBeUndefined();
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    expect(JSON.stringify(template.findResources('AWS::IAM::Role'))).not.toContain(
      'apigateway.amazonaws.com',
    );
    // Stages still log (the account's role), to their own log groups.
    template.resourceCountIs('AWS::ApiGateway::Stage', 2);
  });
});
