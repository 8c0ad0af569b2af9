import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ApiGatewayCloudWatchRole, SecureRestApi } from '../../../lib/constructs/rest-api.js';
import { GATEWAY_ERRORS } from '../../../lib/gateway-errors.js';
import { ref } from '../helpers.js';

// SecureRestApi and ApiGatewayCloudWatchRole in a stack of their own.

describe('SecureRestApi and ApiGatewayCloudWatchRole constructs', () => {
  const stack = new Stack(new App(), 'RestApiTest');
  const cloudWatchRole = new ApiGatewayCloudWatchRole(stack, 'CloudWatchRole');
  const restApi = new SecureRestApi(stack, 'Api', {
    restApiName: 'test-api',
    description: 'test',
    throttle: { rateLimit: 10, burstLimit: 20 },
    cloudWatchRole,
    stageVariables: { accessTokensBasePath: '/demo' },
    requestValidationReason: 'test',
  });
  restApi.api.root.addMethod('GET');
  const template = Template.fromStack(stack);

  it('is regional, throttled, logs errors without bodies, and traces', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Name: 'test-api',
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      Variables: { accessTokensBasePath: '/demo' },
      AccessLogSetting: { DestinationArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } },
      MethodSettings: [
        {
          DataTraceEnabled: false,
          LoggingLevel: 'ERROR',
          ThrottlingRateLimit: 10,
          ThrottlingBurstLimit: 20,
          HttpMethod: '*',
          ResourcePath: '/*',
        },
      ],
    });
  });

  it('creates its execution log group under the name API Gateway writes to, before the stage', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(JSON.stringify(groups)).toContain('API-Gateway-Execution-Logs_');
    const [stage] = Object.values(template.findResources('AWS::ApiGateway::Stage'));
    expect(stage?.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^ApiExecutionLogs/)]));
  });

  it("answers its own errors in the contract's JSON shape", () => {
    const codes = Object.values(GATEWAY_ERRORS).map((error) => error.code);
    const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse'));
    expect(responses.length).toBeGreaterThanOrEqual(5);
    for (const response of responses) {
      // The template's message is a mapping expression ($context.error.message) for some responses.
      const body: string = response.Properties.ResponseTemplates['application/json'];
      expect(body).toMatch(/^\{"error":\{"code":"([A-Z_]+)","message":/);
    }
    // Every error the gateway itself answers with (the request validator's VALIDATION_FAILED besides).
    const answered = responses.map(
      (response) => /"code":"([A-Z_]+)"/.exec(response.Properties.ResponseTemplates['application/json'])?.[1],
    );
    for (const code of codes) expect(answered).toContain(code);
  });

  it('keeps the account-wide CloudWatch role and setting when it leaves the stack', () => {
    template.hasResource('AWS::IAM::Role', {
      DeletionPolicy: 'Retain',
      Properties: {
        AssumeRolePolicyDocument: { Statement: [{ Principal: { Service: 'apigateway.amazonaws.com' } }] },
      },
    });
    template.hasResource('AWS::ApiGateway::Account', {
      DeletionPolicy: 'Retain',
      Properties: { CloudWatchRoleArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } },
    });
    expect(ref(cloudWatchRole.role).Ref).toMatch(/^CloudWatchRole/);
  });
});
