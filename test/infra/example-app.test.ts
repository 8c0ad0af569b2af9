import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildProtectedApiStack,
  JOB_ROUTE_SCOPES,
  PLACEHOLDER_AUTHORIZER_ARN,
  type ProtectedApiStack,
} from '../../examples/protected-api/stack.js';
import { decodeRouteScopes } from '../../lambdas/core/route-scopes.js';
import { repoPath } from '../../lib/paths.js';
import { cdkJsonContext, ref } from './helpers.js';

// examples/protected-api: an app of its own protecting a REST API and an HTTP API with the deployed
// token authorizer, by ARN. Built as its entry point builds it, with and without the context key.

const ARN = 'arn:aws:lambda:eu-west-1:210987654321:function:AccessTokens-TokenAuthorizerFunction-abc';
const invocationUri = (arn: string) =>
  `arn:aws:apigateway:${arn.split(':')[3]}:lambda:path/2015-03-31/functions/${arn}/invocations`;

let stack: ProtectedApiStack;
let template: Template;

/** examples/protected-api/cdk.json's context (its pinned feature flags), as `cdk synth` there passes it. */
function exampleContext(context: Record<string, unknown> = {}): Record<string, unknown> {
  const cdkJson: unknown = JSON.parse(readFileSync(repoPath('examples/protected-api/cdk.json'), 'utf8'));
  const shipped =
    typeof cdkJson === 'object' && cdkJson !== null ? Reflect.get(cdkJson, 'context') : undefined;
  if (typeof shipped !== 'object' || shipped === null)
    throw new Error('examples/protected-api/cdk.json has no context');
  return { ...shipped, ...context };
}

beforeAll(() => {
  stack = buildProtectedApiStack(
    new App({ context: exampleContext({ tokenAuthorizerArn: ARN, tokenAuthorizerCacheTtlSeconds: '50' }) }),
  );
  template = Template.fromStack(stack);
});

describe('example: its cdk.json', () => {
  it('pins the same CDK feature flags as the Access Tokens app', () => {
    const flags = (context: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(context).filter(([key]) => key.startsWith('@aws-cdk/')));
    expect(flags(exampleContext())).toEqual(flags(cdkJsonContext()));
    expect(Object.keys(flags(exampleContext())).length).toBeGreaterThan(0);
  });
});

describe('example: REST API (area rule)', () => {
  it('has a REQUEST authorizer on the deployed function: Authorization + source IP, cached for the given 50 s', () => {
    template.resourceCountIs('AWS::ApiGateway::Authorizer', 1);
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      RestApiId: ref(stack.restApi),
      Type: 'REQUEST',
      AuthorizerUri: invocationUri(ARN),
      IdentitySource:
        'method.request.header.Authorization,context.identity.sourceIp,context.httpMethod,context.path',
      AuthorizerResultTtlInSeconds: 50,
    });
  });

  it('names its base path in the stage variable', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      RestApiId: ref(stack.restApi),
      Variables: { accessTokensBasePath: '/api' },
    });
  });

  it('sends every method through the authorizer', () => {
    const authorizerId = ref(stack.reportsAuthorizer.forRestApi(stack.restApi));
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
    expect(methods.map((method) => method.Properties.HttpMethod).sort()).toEqual(['GET', 'GET', 'POST']);
    for (const method of methods) {
      expect(method.Properties).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: authorizerId });
    }
  });
});

describe('example: HTTP API (route map)', () => {
  it('has a simple-response Lambda authorizer keyed on token, address, method and path, cached 50 s', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      ApiId: ref(stack.httpApi),
      AuthorizerType: 'REQUEST',
      AuthorizerUri: invocationUri(ARN),
      IdentitySource: [
        '$request.header.Authorization',
        '$context.identity.sourceIp',
        '$context.httpMethod',
        '$context.path',
      ],
      EnableSimpleResponses: true,
      AuthorizerPayloadFormatVersion: '2.0',
      AuthorizerResultTtlInSeconds: 50,
    });
  });

  it('carries its route map and base path in the stage variables', () => {
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0];
    expect(stage?.Properties.StageVariables.accessTokensBasePath).toBe('/');
    expect(decodeRouteScopes(stage?.Properties.StageVariables.accessTokensRoutes)).toEqual(JOB_ROUTE_SCOPES);
  });

  it('sends every route through the authorizer', () => {
    const authorizerId = ref(stack.jobsAuthorizer.forHttpApi(stack.httpApi).authorizer);
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes.map((route) => route.Properties.RouteKey).sort()).toEqual(
      Object.keys(JOB_ROUTE_SCOPES).sort(),
    );
    for (const route of routes) {
      expect(route.Properties).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: authorizerId });
    }
  });
});

describe('example: invoke permissions', () => {
  it('one per API, for its authorizer, only when deployed into the function’s account', () => {
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter(
      (permission) => permission.Properties.FunctionName === ARN,
    );
    expect(permissions).toHaveLength(2);
    for (const permission of permissions) {
      expect(permission.Condition).toBe('TokenAuthorizerFunctionInAccount210987654321');
      expect(permission.Properties).toMatchObject({
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        SourceArn: { 'Fn::Join': ['', expect.arrayContaining(['/authorizers/'])] },
      });
    }
  });

  it('synthesizes with the placeholder ARN and no gateway cache when no context is given', () => {
    const { tokenAuthorizerArn: _, ...withoutArn } = exampleContext();
    const placeholder = Template.fromStack(buildProtectedApiStack(new App({ context: withoutArn })));
    placeholder.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      AuthorizerUri: invocationUri(PLACEHOLDER_AUTHORIZER_ARN),
      AuthorizerResultTtlInSeconds: 0,
    });
    placeholder.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { AuthorizerResultTtlInSeconds: 0 });
  });
});
