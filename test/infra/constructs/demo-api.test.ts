import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { BASE_PATH_STAGE_VARIABLE } from '../../../lambdas/core/gateway-scope.js';
import { DemoApi } from '../../../lib/constructs/demo-api.js';

// DemoApi in a stack of its own, with inline functions for its handler and the token authorizer.

describe('DemoApi construct', () => {
  const stack = new Stack(new App(), 'DemoApiTest');
  const inline = (id: string) =>
    new lambda.Function(stack, id, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    });
  const demo = new DemoApi(stack, 'DemoApi', {
    restApiName: 'demo',
    handler: inline('Handler'),
    tokenAuthorizerFunction: inline('Authorizer'),
    authorizerCacheTtl: Duration.seconds(50),
    throttle: { rateLimit: 10, burstLimit: 20 },
  });
  const template = Template.fromStack(stack);

  it('serves ANY <basePath>/{area} and everything under it, each behind the token authorizer', () => {
    expect(demo.basePath).toBe('/demo');
    const paths = Object.values(template.findResources('AWS::ApiGateway::Resource')).map(
      (resource) => resource.Properties.PathPart,
    );
    expect(paths).toEqual(['demo', '{area}', '{proxy+}']);
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
    expect(methods).toHaveLength(2);
    for (const method of methods) {
      expect(method.Properties).toMatchObject({ HttpMethod: 'ANY', AuthorizationType: 'CUSTOM' });
    }
  });

  it('caches decisions for the given TTL and names its base path in the stage variable', () => {
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      AuthorizerResultTtlInSeconds: 50,
    });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      Variables: { [BASE_PATH_STAGE_VARIABLE]: '/demo' },
    });
  });
});
