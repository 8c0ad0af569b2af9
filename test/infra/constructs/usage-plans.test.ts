import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SETTINGS } from '../../../lambdas/contract/policy-settings.js';
import { ENV } from '../../../lambdas/runtime/env.js';
import { USAGE_KEYS_FILTER_PATTERN } from '../../../lambdas/usage-keys/filter.js';
import { loadDeploymentConfig } from '../../../lib/config.js';
import { declareTokenAuthorizerUsagePlans, UsagePlans } from '../../../lib/constructs/usage-plans.js';
import { TokenAuthorizer } from '../../../lib/index.js';
import { appContext, cdkJsonContext, logicalIdOf, statementsOfRole, synthesize } from '../helpers.js';

// Per-token rate limits at the gateway (docs/rate-limits.md): a usage plan per token type, the
// usage-key consumer with IAM limited to API keys and usage plans, and a REST API protected by the
// token authorizer taking its keys from it (apiKeySource AUTHORIZER, apiKeyRequired, its stage on
// the plans, the 429/503 gateway responses).

const PREFIX = 'atk';

function usagePlansStack(apiProps: apigateway.RestApiProps = {}) {
  const app = new App({ context: appContext() });
  const stack = new Stack(app, 'Plans');
  const table = new dynamodb.Table(stack, 'Table', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
  });
  const plans = new UsagePlans(stack, 'UsagePlans', {
    table,
    policy: DEFAULT_POLICY_SETTINGS,
    planPrefix: PREFIX,
  });
  const handler = new lambda.Function(stack, 'AuthorizerFn', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
  declareTokenAuthorizerUsagePlans(handler, plans);
  const api = new apigateway.RestApi(stack, 'Rest', { cloudWatchRole: false, ...apiProps });
  const auth = new TokenAuthorizer(stack, 'Auth', { handler, cacheTtl: Duration.seconds(50) });
  const reports = api.root.addResource('reports');
  reports.addMethod('GET', new apigateway.MockIntegration(), auth.restMethodOptions(api));
  // Given the authorizer by hand, without restMethodOptions: it must require the key all the same.
  reports.addMethod('POST', new apigateway.MockIntegration(), {
    authorizer: auth.forRestApi(api),
    authorizationType: apigateway.AuthorizationType.CUSTOM,
  });
  api.root.addResource('health').addMethod('GET', new apigateway.MockIntegration());
  return { app, stack, plans, api, auth, template: Template.fromStack(stack) };
}

describe('UsagePlans', () => {
  const { stack, plans, api, template } = usagePlansStack();

  it('creates one usage plan per token type with its throttle and quota, named after the deployment', () => {
    template.resourceCountIs(
      'AWS::ApiGateway::UsagePlan',
      Object.keys(DEFAULT_POLICY_SETTINGS.tokenTypes).length,
    );
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      UsagePlanName: 'atk-type-standard',
      Throttle: { RateLimit: 50, BurstLimit: 100 },
      Quota: Match.absent(),
    });
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      UsagePlanName: 'atk-type-restricted',
      Throttle: { RateLimit: 10, BurstLimit: 20 },
      Quota: { Limit: 10_000, Period: 'DAY' },
    });
  });

  it("puts the protected REST API's stage on every type plan", () => {
    for (const plan of plans.typePlans.values()) {
      const resource = template.findResources('AWS::ApiGateway::UsagePlan')[logicalIdOf(plan)];
      expect(resource?.Properties.ApiStages).toEqual([
        { ApiId: { Ref: logicalIdOf(api) }, Stage: { Ref: logicalIdOf(api.deploymentStage) }, Throttle: {} },
      ]);
    }
  });

  it('runs the consumer on token items of the stream, with the time to wait out API Gateway throttling', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(USAGE_KEYS_FILTER_PATTERN) }] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ParallelizationFactor: 1,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    const fn = template.findResources('AWS::Lambda::Function')[logicalIdOf(plans.consumer.function.function)];
    expect(fn?.Properties.Timeout).toBe(300);
    expect(fn?.Properties.Environment.Variables).toMatchObject({
      [ENV.usagePlanPrefix]: PREFIX,
      [ENV.policySettings]: JSON.stringify(DEFAULT_POLICY_SETTINGS),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('usage key was not created'),
    });
  });

  it("limits the consumer's API Gateway access to API keys and usage plans of the Region", () => {
    const statements = statementsOfRole(template, logicalIdOf(plans.consumer.function.role));
    const apigatewayStatements = statements.filter((statement) =>
      [statement.Action].flat().some((action) => String(action).startsWith('apigateway:')),
    );
    expect(apigatewayStatements).toEqual([
      {
        Effect: 'Allow',
        Action: ['apigateway:GET', 'apigateway:POST', 'apigateway:DELETE', 'apigateway:PATCH'],
        Resource: ['/apikeys', '/apikeys/*', '/usageplans', '/usageplans/*'].map((path) => ({
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':apigateway:', { Ref: 'AWS::Region' }, `::${path}`],
          ],
        })),
      },
    ]);

    // Nothing else of API Gateway, and no "*" action anywhere.
    for (const statement of statements) expect([statement.Action].flat()).not.toContain('*');
    expect(stack).toBeDefined();
  });
});

describe('TokenAuthorizer with usage plans (REST)', () => {
  const { api, template } = usagePlansStack();

  it('makes the API take its API keys from the authorizer', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { ApiKeySourceType: 'AUTHORIZER' });
  });

  it('requires the key on every method it protects, however it was given the authorizer, and only there', () => {
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
    const protectedMethods = methods.filter((method) => method.Properties.AuthorizationType === 'CUSTOM');
    expect(protectedMethods).toHaveLength(2);
    for (const method of protectedMethods) expect(method.Properties.ApiKeyRequired).toBe(true);
    const open = methods.filter((method) => method.Properties.AuthorizationType !== 'CUSTOM');
    expect(open.length).toBeGreaterThan(0);
    for (const method of open) expect(method.Properties.ApiKeyRequired).toBeUndefined();
  });

  it('answers throttling and quotas with 429 in our error shape, a missing key with 503 TOKEN_NOT_READY', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'THROTTLED',
      StatusCode: '429',
      ResponseParameters: {
        'gatewayresponse.header.Retry-After': "'1'",
        'gatewayresponse.header.Content-Type': "'application/json'",
      },
      ResponseTemplates: {
        'application/json': JSON.stringify({ error: { code: 'RATE_LIMITED', message: 'Too many requests' } }),
      },
    });
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'QUOTA_EXCEEDED',
      StatusCode: '429',
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"code":"QUOTA_EXCEEDED"') },
    });
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'INVALID_API_KEY',
      StatusCode: '503',
      ResponseParameters: Match.objectLike({ 'gatewayresponse.header.Retry-After': "'2'" }),
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"code":"TOKEN_NOT_READY"') },
    });
    expect(api).toBeDefined();
  });

  it('fails synth when the API takes its keys from a header', () => {
    expect(() => usagePlansStack({ apiKeySourceType: apigateway.ApiKeySourceType.HEADER })).toThrow(
      /takes API keys from the HEADER.*need AUTHORIZER/,
    );
  });

  it('wires nothing with usagePlans: false', () => {
    const stack = new Stack(new App(), 'NoPlans');
    const api = new apigateway.RestApi(stack, 'Rest', { cloudWatchRole: false });
    const auth = new TokenAuthorizer(stack, 'Auth', {
      functionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:TokenAuthorizer',
      cacheTtl: Duration.seconds(50),
      usagePlans: false,
    });
    api.root.addMethod('GET', new apigateway.MockIntegration(), auth.restMethodOptions(api));
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { ApiKeySourceType: Match.absent() });
    template.hasResourceProperties('AWS::ApiGateway::Method', { ApiKeyRequired: Match.absent() });
  });

  it('warns, and wires nothing, for an API in another stack than the plans it found through handler', () => {
    const { app, plans } = usagePlansStack();
    const other = new Stack(app, 'OtherApi');
    const api = new apigateway.RestApi(other, 'Rest', { cloudWatchRole: false });
    const handler = plans.consumer.function.function;
    declareTokenAuthorizerUsagePlans(handler, plans);
    const auth = new TokenAuthorizer(other, 'Auth', { handler, cacheTtl: Duration.seconds(50) });
    api.root.addMethod('GET', new apigateway.MockIntegration(), auth.restMethodOptions(api));
    Annotations.fromStack(other).hasWarning(
      '*',
      Match.stringLikeRegexp('in another stack than the usage plans'),
    );
    Template.fromStack(other).hasResourceProperties('AWS::ApiGateway::Method', {
      ApiKeyRequired: Match.absent(),
    });
    // Given explicitly, the plans must apply: a clear synth error.
    const explicit = new TokenAuthorizer(other, 'Explicit', {
      handler,
      cacheTtl: Duration.seconds(50),
      usagePlans: plans,
    });
    const api2 = new apigateway.RestApi(other, 'Rest2', { cloudWatchRole: false });
    expect(() => explicit.forRestApi(api2)).toThrow(/in another stack than the usage plans/);
  });
});

describe('AccessTokensStack usage plans', () => {
  const { stack, template } = synthesize();

  it('lets only the routes that sync or read usage keys at API Gateway, with the deployment prefix', () => {
    const access = (name: string) => {
      const fn = stack.managementFunctions.functionOf(name);
      const actions = statementsOfRole(template, logicalIdOf(fn.role))
        .flatMap((statement) => [statement.Action].flat())
        .filter((action) => String(action).startsWith('apigateway:'))
        .sort();
      const variables =
        template.findResources('AWS::Lambda::Function')[logicalIdOf(fn.function)]?.Properties.Environment
          .Variables;
      return { actions, prefix: variables?.[ENV.usagePlanPrefix] };
    };
    const manage = ['apigateway:DELETE', 'apigateway:GET', 'apigateway:PATCH', 'apigateway:POST'];
    expect(access('createToken')).toEqual({ actions: manage, prefix: stack.stackName });
    expect(access('updateToken')).toEqual({ actions: manage, prefix: stack.stackName });
    expect(access('getToken')).toEqual({ actions: ['apigateway:GET'], prefix: stack.stackName });
    for (const name of ['listTokens', 'revokeToken', 'rotateToken', 'getPolicy']) {
      expect(access(name), name).toEqual({ actions: [], prefix: undefined });
    }
  });

  it("keeps the management API free of API keys (it uses the JWT authorizer), puts the demo API's stage on the plans", () => {
    const apis = template.findResources('AWS::ApiGateway::RestApi');
    const management = apis[logicalIdOf(stack.managementApi.api)];
    expect(management?.Properties.ApiKeySourceType).toBeUndefined();
    const demo = stack.demoApi;
    if (demo === undefined) throw new Error('the default deployment has the demo API');
    expect(apis[logicalIdOf(demo.api)]?.Properties.ApiKeySourceType).toBe('AUTHORIZER');
    for (const plan of stack.usagePlans.typePlans.values()) {
      const resource = template.findResources('AWS::ApiGateway::UsagePlan')[logicalIdOf(plan)];
      expect(resource?.Properties.UsagePlanName).toMatch(new RegExp(`^${stack.stackName}-type-`));
      expect(resource?.Properties.ApiStages).toEqual([
        {
          ApiId: { Ref: logicalIdOf(demo.api) },
          Stage: { Ref: logicalIdOf(demo.api.deploymentStage) },
          Throttle: {},
        },
      ]);
    }
  });
});

describe("API Gateway's ceilings at synth", () => {
  const synthOf = (context: Record<string, unknown>) => () =>
    loadDeploymentConfig({ ...cdkJsonContext(), ...context });

  it('refuses a usage key budget above the 10,000 API keys of an account and Region', () => {
    expect(synthOf({ usageKeyBudget: 10_001 })).toThrow(/usageKeyBudget/);
    expect(synthOf({ usageKeyBudget: 10_000 })).not.toThrow();
  });

  it('refuses more type plans + limit classes than the 300 usage plans of a Region', () => {
    const types = Object.keys(DEFAULT_POLICY_SETTINGS.tokenTypes).length;
    expect(synthOf({ limitClassBudget: 300 - types + 1 })).toThrow(/limitClassBudget|300/);
    expect(synthOf({ limitClassBudget: 290 - types })).not.toThrow();
  });
});
