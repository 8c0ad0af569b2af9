import { App, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeRouteScopes, encodeRouteScopes, type RouteScopeMap } from '../../lambdas/core/route-scopes.js';
import type { AccessTokensStack } from '../../lib/access-tokens-stack.js';
import { TokenAuthorizer, type TokenAuthorizerProps } from '../../lib/index.js';
import { scaled } from '../support/time.js';
import { arnOf, ref, synthesize } from './helpers.js';

// The TokenAuthorizer construct on small stacks of its own (no bundling: inline functions only).

const ARN_IN_111 = 'arn:aws:lambda:eu-west-1:111111111111:function:AccessTokens-TokenAuthorizer';
const ROUTES: RouteScopeMap = { 'GET /jobs/{id}': 'triggers:read', 'ANY /jobs/{id}/run': 'triggers:write' };

function newStack(props: StackProps = {}): Stack {
  return new Stack(new App(), 'Api', props);
}

function authorizerFunction(stack: Stack): lambda.Function {
  return new lambda.Function(stack, 'AuthorizerFn', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
}

function restApiWith(
  stack: Stack,
  props: Omit<TokenAuthorizerProps, 'handler' | 'functionArn'> &
    Partial<Pick<TokenAuthorizerProps, 'handler' | 'functionArn'>>,
  paths: readonly string[] = ['/v1/reports/{id}'],
  apiProps: apigateway.RestApiProps = {},
): { api: apigateway.RestApi; auth: TokenAuthorizer } {
  const api = new apigateway.RestApi(stack, 'Rest', { cloudWatchRole: false, ...apiProps });
  const auth = new TokenAuthorizer(stack, 'Auth', {
    ...(props.functionArn === undefined ? { handler: props.handler ?? authorizerFunction(stack) } : {}),
    ...props,
  });
  for (const path of paths) {
    api.root
      .resourceForPath(path)
      .addMethod('GET', new apigateway.MockIntegration(), auth.restMethodOptions(api));
  }
  return { api, auth };
}

function httpApiWith(
  stack: Stack,
  props: Partial<TokenAuthorizerProps>,
  paths: readonly string[] = ['/jobs/{id}'],
): { api: apigwv2.HttpApi; auth: TokenAuthorizer } {
  const api = new apigwv2.HttpApi(stack, 'Http');
  const auth = new TokenAuthorizer(stack, 'Auth', {
    ...(props.functionArn === undefined ? { handler: props.handler ?? authorizerFunction(stack) } : {}),
    ...props,
  });
  const integration = new HttpLambdaIntegration(
    'Backend',
    new lambda.Function(stack, 'Backend', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 })'),
    }),
  );
  for (const path of paths) {
    api.addRoutes({ path, methods: [apigwv2.HttpMethod.GET], integration, authorizer: auth.forHttpApi(api) });
  }
  return { api, auth };
}

describe('TokenAuthorizer on a REST API', () => {
  it('without a route map: Authorization + source IP, base path stage variable, CUSTOM methods (50 s)', () => {
    const stack = newStack();
    const { api, auth } = restApiWith(stack, { basePath: 'v1/' });
    const template = Template.fromStack(stack);
    const authorizer = auth.forRestApi(api);

    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      RestApiId: ref(api),
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.Authorization,context.identity.sourceIp',
      AuthorizerResultTtlInSeconds: 50,
    });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      RestApiId: ref(api),
      Variables: { accessTokensBasePath: '/v1' },
    });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      AuthorizationType: 'CUSTOM',
      AuthorizerId: ref(authorizer),
    });
    expect(auth.basePath).toBe('/v1');
  });

  it('with a route map: also httpMethod and resourcePath, and the encoded map in accessTokensRoutes', () => {
    const stack = newStack();
    const { api } = restApiWith(stack, { basePath: '/v1', routeScopes: ROUTES }, [
      '/v1/jobs/{id}',
      '/v1/jobs/{id}/run',
    ]);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      IdentitySource:
        'method.request.header.Authorization,context.identity.sourceIp,context.httpMethod,context.resourcePath',
    });
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0];
    expect(stage?.Properties.Variables).toEqual({
      accessTokensBasePath: '/v1',
      accessTokensRoutes: encodeRouteScopes(ROUTES),
    });
    expect(decodeRouteScopes(stage?.Properties.Variables.accessTokensRoutes)).toEqual(ROUTES);
    expect(api.methods).toHaveLength(2);
  });

  it('keeps stage variables set through deployOptions, and takes a cache TTL of 0', () => {
    const stack = newStack();
    restApiWith(stack, { basePath: '/v1', cacheTtl: Duration.seconds(0) }, ['/v1/reports'], {
      deployOptions: { variables: { other: 'x', accessTokensBasePath: '/v1' } },
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', { AuthorizerResultTtlInSeconds: 0 });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      Variables: { other: 'x', accessTokensBasePath: '/v1' },
    });
  });

  it('lets API Gateway invoke the function from this API’s authorizer only', () => {
    const stack = newStack();
    const { api, auth } = restApiWith(stack, {});
    const template = Template.fromStack(stack);
    const fn = stack.node.findChild('AuthorizerFn');
    template.resourceCountIs('AWS::Lambda::Permission', 1);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      FunctionName: arnOf(fn),
      SourceArn: {
        'Fn::Join': ['', Match.arrayWith([ref(api), '/authorizers/', ref(auth.forRestApi(api))])],
      },
    });
  });

  it('redeploys the stage when the cache TTL changes', () => {
    const deploymentOf = (ttl: number) => {
      const stack = newStack();
      restApiWith(stack, { cacheTtl: Duration.seconds(ttl) });
      return Object.keys(Template.fromStack(stack).findResources('AWS::ApiGateway::Deployment'));
    };
    expect(deploymentOf(30)).not.toEqual(deploymentOf(60));
    expect(deploymentOf(60)).toEqual(deploymentOf(60));
  });

  it('creates one authorizer per API however often it is asked', () => {
    const stack = newStack();
    const { api, auth } = restApiWith(stack, {}, ['/a', '/b', '/c']);
    expect(auth.forRestApi(api)).toBe(auth.forRestApi(api));
    Template.fromStack(stack).resourceCountIs('AWS::ApiGateway::Authorizer', 1);
  });
});

describe('TokenAuthorizer on an HTTP API', () => {
  it('keys the cache on token, address, method and path; simple responses, payload 2.0; stage variables', () => {
    const stack = newStack();
    const { api, auth } = httpApiWith(stack, { routeScopes: ROUTES, cacheTtl: Duration.seconds(30) }, [
      '/jobs/{id}',
      '/jobs/{id}/run',
    ]);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      ApiId: ref(api),
      AuthorizerType: 'REQUEST',
      IdentitySource: [
        '$request.header.Authorization',
        '$context.identity.sourceIp',
        '$context.httpMethod',
        '$context.path',
      ],
      EnableSimpleResponses: true,
      AuthorizerPayloadFormatVersion: '2.0',
      AuthorizerResultTtlInSeconds: 30,
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: ref(api),
      StageName: '$default',
      StageVariables: { accessTokensBasePath: '/', accessTokensRoutes: encodeRouteScopes(ROUTES) },
    });
    const authorizerId = ref(auth.forHttpApi(api).authorizer);
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes).toHaveLength(2);
    for (const route of routes) {
      expect(route.Properties).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: authorizerId });
    }
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: arnOf(stack.node.findChild('AuthorizerFn')),
      Principal: 'apigateway.amazonaws.com',
      SourceArn: { 'Fn::Join': ['', Match.arrayWith([ref(api), '/authorizers/', authorizerId])] },
    });
  });

  it('uses the same identity sources without a route map (simple responses are booleans)', () => {
    const stack = newStack();
    httpApiWith(stack, {});
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      IdentitySource: Match.arrayWith(['$context.httpMethod', '$context.path']),
      AuthorizerResultTtlInSeconds: 50,
    });
  });

  it('refuses a route of another API', () => {
    const stack = newStack();
    const { api, auth } = httpApiWith(stack, {});
    const other = new apigwv2.HttpApi(stack, 'Other');
    const backend = stack.node.findChild('Backend');
    if (!(backend instanceof lambda.Function)) throw new Error('no backend function');
    expect(() =>
      other.addRoutes({
        path: '/x',
        integration: new HttpLambdaIntegration('X', backend),
        authorizer: auth.forHttpApi(api),
      }),
    ).toThrow(/another API/);
  });
});

describe('TokenAuthorizer by ARN: the invoke permission', () => {
  const permissions = (stack: Stack) => Template.fromStack(stack).findResources('AWS::Lambda::Permission');

  it('in an environment-agnostic stack: under a condition that the function is in the deploying account', () => {
    const stack = newStack();
    restApiWith(stack, { functionArn: ARN_IN_111 });
    const template = Template.fromStack(stack);
    const [permission] = Object.values(permissions(stack));
    expect(permission?.Properties.FunctionName).toBe(ARN_IN_111);
    expect(permission?.Condition).toBe('TokenAuthorizerFunctionInAccount111111111111');
    template.hasCondition('TokenAuthorizerFunctionInAccount111111111111', {
      'Fn::Equals': [{ Ref: 'AWS::AccountId' }, '111111111111'],
    });
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      AuthorizerUri: `arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/${ARN_IN_111}/invocations`,
    });
  });

  it('in the same account: unconditionally; in another account: none (the owner grants it)', () => {
    const same = newStack({ env: { account: '111111111111', region: 'eu-west-1' } });
    restApiWith(same, { functionArn: ARN_IN_111 });
    expect(Object.values(permissions(same)).map((p) => p.Condition)).toEqual([undefined]);

    const other = newStack({ env: { account: '222222222222', region: 'eu-west-1' } });
    restApiWith(other, { functionArn: ARN_IN_111 });
    expect(permissions(other)).toEqual({});

    const forced = newStack({ env: { account: '222222222222', region: 'eu-west-1' } });
    restApiWith(forced, { functionArn: ARN_IN_111, invokePermission: true });
    expect(Object.keys(permissions(forced))).toHaveLength(1);
  });
});

describe('TokenAuthorizer validation', () => {
  it('fails on an invalid route map, naming every problem', () => {
    expect(() =>
      restApiWith(newStack(), { routeScopes: { 'GET jobs': 'triggers:read', 'POST /jobs': 'admin' } }),
    ).toThrow(/TokenAuthorizer Api\/Auth: invalid route scopes: "GET jobs".*"POST \/jobs"/);
    expect(() => restApiWith(newStack(), { routeScopes: {} })).toThrow(/routeScopes is empty/);
  });

  it('fails the synth when a map key names no route of the API', () => {
    const stack = newStack();
    restApiWith(stack, { basePath: '/v1', routeScopes: { 'GET /job/{id}': 'triggers:read' } }, [
      '/v1/jobs/{id}',
    ]);
    expect(() => Template.fromStack(stack)).toThrow(/"GET \/job\/\{id\}" names no route/);

    const http = newStack();
    httpApiWith(http, { routeScopes: { 'POST /jobs/{id}': 'triggers:write' } }, ['/jobs/{id}']);
    expect(() => Template.fromStack(http)).toThrow(/"POST \/jobs\/\{id\}" names no route/);
  });

  it('fails on handler and functionArn together or neither, a bad ARN, a bad TTL or base path', () => {
    const stack = newStack();
    const handler = authorizerFunction(stack);
    expect(() => new TokenAuthorizer(stack, 'Both', { handler, functionArn: ARN_IN_111 })).toThrow(
      /exactly one of handler and functionArn/,
    );
    expect(() => new TokenAuthorizer(stack, 'Neither', {})).toThrow(/exactly one/);
    expect(() => new TokenAuthorizer(stack, 'BadArn', { functionArn: 'arn:aws:s3:::bucket' })).toThrow(
      /not a Lambda function ARN/,
    );
    expect(() => new TokenAuthorizer(stack, 'Ttl', { handler, cacheTtl: Duration.seconds(3601) })).toThrow(
      /cacheTtl/,
    );
    expect(() => new TokenAuthorizer(stack, 'Path', { handler, basePath: '/v 1' })).toThrow(/basePath/);
  });

  it('fails when an API already names a different base path, or a second authorizer disagrees', () => {
    expect(() =>
      restApiWith(newStack(), { basePath: '/v2' }, ['/v2/x'], {
        deployOptions: { variables: { accessTokensBasePath: '/v1' } },
      }),
    ).toThrow(/already sets the stage variable accessTokensBasePath to "\/v1"/);

    const stack = newStack();
    const { api } = restApiWith(stack, { basePath: '/v1' }, ['/v1/x']);
    const second = new TokenAuthorizer(stack, 'Second', { functionArn: ARN_IN_111, basePath: '/v2' });
    expect(() => second.forRestApi(api)).toThrow(/one API has one base path/);
  });
});

describe('the stack: authorizerInvokerAccounts', () => {
  let stack: AccessTokensStack;
  let template: Template;

  beforeAll(() => {
    ({ stack, template } = synthesize({
      context: { authorizerInvokerAccounts: '["111111111111","222222222222"]' },
    }));
  }, scaled(120_000));

  it('lets API Gateway authorizers of each listed account invoke the token authorizer', () => {
    for (const account of ['111111111111', '222222222222']) {
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        FunctionName: arnOf(stack.tokenAuthorizer.function),
        SourceAccount: account,
        SourceArn: {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:execute-api:*:${account}:*/authorizers/*`]],
        },
      });
    }
  });

  it(
    'adds none by default',
    () => {
      const { template: defaults, stack: plain } = synthesize();
      const crossAccount = Object.values(defaults.findResources('AWS::Lambda::Permission')).filter(
        (permission) =>
          JSON.stringify(permission.Properties.FunctionName) ===
            JSON.stringify(arnOf(plain.tokenAuthorizer.function)) && permission.Properties.SourceAccount,
      );
      expect(crossAccount).toEqual([]);
    },
    scaled(120_000),
  );
});
