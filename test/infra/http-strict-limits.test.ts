import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { TokenAuthorizer, type TokenHttpApiOptions } from '../../lib/token-authorizer.js';
import { ref } from './helpers.js';

// Strict rate limits on an HTTP API (docs/rate-limits.md "HTTP APIs"): the construct turns the
// authorizer's result cache off and tells the function through a stage variable; the synth fails
// for a strict stage whose token authorizer still caches (cached requests would pass uncounted).

function httpApi(options?: TokenHttpApiOptions): {
  stack: Stack;
  api: apigwv2.HttpApi;
  auth: TokenAuthorizer;
} {
  const stack = new Stack(new App(), 'Api');
  const handler = new lambda.Function(stack, 'AuthorizerFn', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
  const api = new apigwv2.HttpApi(stack, 'Http');
  const auth = new TokenAuthorizer(stack, 'Auth', { handler, cacheTtl: Duration.seconds(50) });
  const integration = new HttpLambdaIntegration('Backend', handler);
  api.addRoutes({
    path: '/content/{id}',
    methods: [apigwv2.HttpMethod.GET],
    integration,
    authorizer: auth.forHttpApi(api, options),
  });
  return { stack, api, auth };
}

beforeAll(() => {
  Template.fromStack(httpApi().stack);
}, 120_000);

describe("TokenAuthorizer.forHttpApi(api, { rateLimits: 'strict' })", () => {
  it('turns the result cache off and sets accessTokensRateLimits=strict on the stage', () => {
    const { stack, api } = httpApi({ rateLimits: 'strict' });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      ApiId: ref(api),
      AuthorizerResultTtlInSeconds: 0,
      EnableSimpleResponses: true,
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: ref(api),
      StageVariables: { accessTokensBasePath: '/', accessTokensRateLimits: 'strict' },
    });
  });

  it('without it: the cache TTL stays, and the stage has no rate-limit variable', () => {
    const { stack } = httpApi();
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { AuthorizerResultTtlInSeconds: 50 });
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    expect(stage?.Properties.StageVariables).toEqual({ accessTokensBasePath: '/' });
  });

  it('one API is attached one way: asking again with another mode fails', () => {
    const { api, auth } = httpApi({ rateLimits: 'strict' });
    expect(auth.forHttpApi(api, { rateLimits: 'strict' })).toBe(
      auth.forHttpApi(api, { rateLimits: 'strict' }),
    );
    expect(() => auth.forHttpApi(api)).toThrow(/already attached with rateLimits 'strict', not 'none'/);
  });

  it('fails the synth when a strict stage has a token authorizer that caches', () => {
    const { stack, api } = httpApi();
    api.defaultStage?.addStageVariable('accessTokensRateLimits', 'strict');
    expect(() => Template.fromStack(stack)).toThrow(/strict rate limits .* result cache must be off/);
  });
});
