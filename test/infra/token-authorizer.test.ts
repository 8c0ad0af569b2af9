import { App, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeRouteScopes, encodeRouteScopes, type RouteScopeMap } from '../../lambdas/core/route-scopes.js';
import { AccessTokensStack } from '../../lib/access-tokens-stack.js';
import { loadDeploymentConfig } from '../../lib/config.js';
import { TokenAuthorizer, type TokenAuthorizerProps } from '../../lib/index.js';
import { scaled } from '../support/time.js';
import { type DeployEnvironment, LONGEST_ENVIRONMENT, resolveIntrinsics } from './cfn-resolve.js';
import { arnOf, cdkJsonContext, ref, synthesize } from './helpers.js';

// The TokenAuthorizer construct on small stacks of its own (no bundling: inline functions only).

const ARN_IN_111 = 'arn:aws:lambda:eu-west-1:111111111111:function:AccessTokens-TokenAuthorizer';
const ROUTES: RouteScopeMap = { 'GET /jobs/{id}': 'triggers:read', 'ANY /jobs/{id}/run': 'triggers:write' };
/** What these tests pass as cacheTtl unless they test it: the default deployment's 60 − 10 s. */
const DEFAULT_TTL = Duration.seconds(50);

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
    cacheTtl: DEFAULT_TTL,
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
    cacheTtl: DEFAULT_TTL,
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

// The first synth of a file loads most of aws-cdk-lib (tens of seconds on a loaded machine): done
// here, under the hook timeout, rather than in whichever test happens to run first.
beforeAll(() => {
  const stack = newStack();
  restApiWith(stack, {});
  httpApiWith(newStack(), {});
  Template.fromStack(stack);
}, 120_000);

describe('TokenAuthorizer on a REST API', () => {
  it('without a route map: Authorization + source IP, base path stage variable, CUSTOM methods (50 s)', () => {
    const stack = newStack();
    const { api, auth } = restApiWith(stack, { basePath: 'v1/' });
    const template = Template.fromStack(stack);
    const authorizer = auth.forRestApi(api);

    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      RestApiId: ref(api),
      Type: 'REQUEST',
      IdentitySource:
        'method.request.header.Authorization,context.identity.sourceIp,context.httpMethod,context.path',
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
        'method.request.header.Authorization,context.identity.sourceIp,context.httpMethod,context.path,context.resourcePath',
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
    expectDeployableSourceArns(template);
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
    expectDeployableSourceArns(template);
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
    const second = new TokenAuthorizer(stack, 'Second', {
      functionArn: ARN_IN_111,
      cacheTtl: DEFAULT_TTL,
      basePath: '/v2',
    });
    expect(() => second.forRestApi(api)).toThrow(/one API has one base path/);
  });
});

/** An Access Tokens stack with these settings, and an API stack in the same app to attach it to. */
function deploymentWith(context: Record<string, unknown>): { accessTokens: AccessTokensStack; api: Stack } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const config = loadDeploymentConfig({ ...cdkJsonContext(), ...context });
  const accessTokens = new AccessTokensStack(app, 'AccessTokens', { config });
  return { accessTokens, api: new Stack(app, 'Api') };
}

describe("TokenAuthorizer cache TTL: the deployment's revocation window", () => {
  it('revocationWindowSeconds 0: cache TTL 0 for an API given the function, the demo API, and the output', () => {
    const { accessTokens, api } = deploymentWith({ revocationWindowSeconds: 0 });
    // Fails before the fix: the default was a constant 50 s, built from the default settings.
    const { auth } = restApiWith(api, {
      handler: accessTokens.tokenAuthorizer.function,
      cacheTtl: undefined,
    });
    expect(auth.cacheTtl.toSeconds()).toBe(0);
    Template.fromStack(api).hasResourceProperties('AWS::ApiGateway::Authorizer', {
      AuthorizerResultTtlInSeconds: 0,
    });
    const template = Template.fromStack(accessTokens);
    if (accessTokens.demoApi === undefined) throw new Error('cdk.json deploys the demo API');
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      RestApiId: ref(accessTokens.demoApi.api),
      AuthorizerResultTtlInSeconds: 0,
    });
    template.hasOutput('TokenAuthorizerCacheTtlSeconds', { Value: '0' });
  });

  it('takes what the window leaves after the in-process cache, and refuses a longer TTL', () => {
    const { accessTokens, api } = deploymentWith({
      revocationWindowSeconds: 30,
      verificationCacheSeconds: 10,
    });
    const handler = accessTokens.tokenAuthorizer.function;
    const { auth } = restApiWith(api, { handler, cacheTtl: undefined });
    expect(auth.cacheTtl.toSeconds()).toBe(20);
    expect(
      new TokenAuthorizer(api, 'Shorter', { handler, cacheTtl: Duration.seconds(5) }).cacheTtl.toSeconds(),
    ).toBe(5);
    expect(() => new TokenAuthorizer(api, 'Longer', { handler, cacheTtl: Duration.seconds(21) })).toThrow(
      /cacheTtl 21 s would let a revoked token pass longer than the deployment's revocationWindowSeconds \(30 s.*at most 20 s/,
    );
    Template.fromStack(api).hasResourceProperties('AWS::ApiGateway::Authorizer', {
      AuthorizerResultTtlInSeconds: 20,
    });
    Template.fromStack(accessTokens).hasOutput('TokenAuthorizerCacheTtlSeconds', { Value: '20' });
  });

  it('needs cacheTtl when the deployment is not known (a function by ARN, or a function of its own)', () => {
    const stack = newStack();
    expect(() => new TokenAuthorizer(stack, 'ByArn', { functionArn: ARN_IN_111 })).toThrow(/give cacheTtl/);
    expect(() => new TokenAuthorizer(stack, 'Own', { handler: authorizerFunction(stack) })).toThrow(
      /give cacheTtl/,
    );
  });
});

/**
 * The SourceArn pattern AWS::Lambda::Permission accepts (CloudFormation resource reference and the
 * Lambda AddPermission API): a wildcard in the region field does not match, so such a permission
 * fails the deployment.
 */
const SOURCE_ARN_PATTERN =
  /^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)$/;
const DEPLOY_ENVIRONMENTS: readonly DeployEnvironment[] = [
  { partition: 'aws', region: 'eu-west-1', account: '123456789012' },
  LONGEST_ENVIRONMENT,
];
/** Lambda's limit on a function's resource-based policy. */
const RESOURCE_POLICY_LIMIT_BYTES = 20 * 1024;
/**
 * Statements of APIs in the function's own account (one per API the TokenAuthorizer construct
 * attaches it to, the demo API's included) that the policy must still have room for.
 */
const SAME_ACCOUNT_API_STATEMENTS = 15;

function sourceArnsOf(template: Template): Array<[string, unknown]> {
  return Object.entries(template.findResources('AWS::Lambda::Permission'))
    .filter(([, permission]) => permission.Properties.SourceArn !== undefined)
    .map(([id, permission]) => [id, permission.Properties.SourceArn]);
}

function expectDeployableSourceArns(template: Template): void {
  const arns = sourceArnsOf(template);
  expect(arns.length).toBeGreaterThan(0);
  for (const [id, sourceArn] of arns) {
    for (const env of DEPLOY_ENVIRONMENTS) {
      expect(resolveIntrinsics(sourceArn, env), `${id} in ${env.region}`).toMatch(SOURCE_ARN_PATTERN);
    }
  }
}

/** The longest list of invoker accounts the configuration accepts. */
function largestAcceptedAccountList(): string[] {
  let accepted: string[] = [];
  for (let count = 1; count <= 100; count++) {
    const accounts = Array.from({ length: count }, (_, index) => String(100_000_000_000 + index));
    const context = { ...cdkJsonContext(), authorizerInvokerAccounts: JSON.stringify(accounts) };
    let ok = true;
    try {
      loadDeploymentConfig(context);
    } catch {
      ok = false;
    }
    if (!ok) break;
    accepted = accounts;
  }
  return accepted;
}

interface StoredStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Principal: { readonly Service: string };
  readonly Action: string;
  readonly Resource: string;
  readonly Condition: Record<string, Record<string, string>>;
}

/** A permission as Lambda stores it in the policy, with the longest statement id and names. */
function storedStatement(
  properties: { Principal: string; Action: string; SourceAccount?: string; SourceArn: unknown },
  env: DeployEnvironment,
): StoredStatement {
  return {
    // StatementId: at most 100 characters; CloudFormation makes one from the stack and logical id.
    Sid: 'S'.repeat(100),
    Effect: 'Allow',
    Principal: { Service: properties.Principal },
    Action: properties.Action,
    // A function name: at most 64 characters.
    Resource: `arn:${env.partition}:lambda:${env.region}:${env.account}:function:${'f'.repeat(64)}`,
    Condition: {
      ...(properties.SourceAccount === undefined
        ? {}
        : { StringEquals: { 'AWS:SourceAccount': properties.SourceAccount } }),
      ArnLike: { 'AWS:SourceArn': resolveIntrinsics(properties.SourceArn, env) },
    },
  };
}

describe('cache keys on an API with a route map fail the synth whatever the order (#11 finding 3)', () => {
  const MAP_KEYED = 'context.httpMethod and context.resourcePath';

  it('a map-less TokenAuthorizer attached first, then one with the map: the first keys no route', () => {
    const stack = newStack();
    const api = new apigateway.RestApi(stack, 'Rest', { cloudWatchRole: false });
    const handler = authorizerFunction(stack);
    const plain = new TokenAuthorizer(stack, 'Plain', { handler, cacheTtl: DEFAULT_TTL });
    const mapped = new TokenAuthorizer(stack, 'Mapped', {
      handler,
      cacheTtl: DEFAULT_TTL,
      routeScopes: ROUTES,
    });
    const integration = new apigateway.MockIntegration();
    api.root.resourceForPath('/other').addMethod('GET', integration, plain.restMethodOptions(api));
    api.root.resourceForPath('/jobs/{id}').addMethod('GET', integration, mapped.restMethodOptions(api));
    api.root.resourceForPath('/jobs/{id}/run').addMethod('POST', integration, mapped.restMethodOptions(api));
    // Fails before the fix: this synthesized, and the plain authorizer's cached route policies
    // (token + address only) were served for other routes.
    expect(() => Template.fromStack(stack)).toThrow(
      new RegExp(
        `Api/Plain/Rest[^:]*: the stage .* carries a route map .*must key its cache on ${MAP_KEYED}`,
      ),
    );
  });

  it('the other order is refused when attaching (one API, one map)', () => {
    const stack = newStack();
    const handler = authorizerFunction(stack);
    const { api } = restApiWith(stack, { handler, routeScopes: ROUTES }, ['/jobs/{id}', '/jobs/{id}/run']);
    const plain = new TokenAuthorizer(stack, 'Plain', {
      handler,
      cacheTtl: DEFAULT_TTL,
    });
    expect(() => plain.forRestApi(api)).toThrow(/one API has one base path and one route map/);
  });

  it('a route map set by hand in deployOptions, with a map-less TokenAuthorizer', () => {
    const stack = newStack();
    restApiWith(stack, {}, ['/jobs/{id}'], {
      deployOptions: {
        variables: { accessTokensRoutes: encodeRouteScopes({ 'GET /jobs/{id}': 'triggers:read' }) },
      },
    });
    expect(() => Template.fromStack(stack)).toThrow(/carries a route map/);
  });

  it('a plain RequestAuthorizer on a mapped API, attached without TokenAuthorizer (the stack check finds it); TTL 0 and TOKEN authorizers pass', () => {
    const build = (authorizer: (stack: Stack, fn: lambda.IFunction) => apigateway.IAuthorizer) => {
      const stack = newStack();
      const fn = authorizerFunction(stack);
      // A TokenAuthorizer elsewhere in the stack: the stack's APIs are checked.
      restApiWith(stack, { handler: fn });
      const api = new apigateway.RestApi(stack, 'Mapped', {
        cloudWatchRole: false,
        deployOptions: {
          variables: { accessTokensRoutes: encodeRouteScopes({ 'GET /jobs/{id}': 'triggers:read' }) },
        },
      });
      api.root
        .resourceForPath('/jobs/{id}')
        .addMethod('GET', new apigateway.MockIntegration(), { authorizer: authorizer(stack, fn) });
      return stack;
    };
    const plain = build(
      (stack, handler) =>
        new apigateway.RequestAuthorizer(stack, 'Hand', {
          handler,
          identitySources: [apigateway.IdentitySource.header('Authorization')],
        }),
    );
    expect(() => Template.fromStack(plain)).toThrow(/Api\/Hand\/Resource: the stage .* carries a route map/);
    const uncached = build(
      (stack, handler) =>
        new apigateway.RequestAuthorizer(stack, 'Hand', {
          handler,
          identitySources: [apigateway.IdentitySource.header('Authorization')],
          resultsCacheTtl: Duration.seconds(0),
        }),
    );
    expect(() => Template.fromStack(uncached)).not.toThrow();
    const keyed = build(
      (stack, handler) =>
        new apigateway.RequestAuthorizer(stack, 'Hand', {
          handler,
          identitySources: [
            apigateway.IdentitySource.header('Authorization'),
            apigateway.IdentitySource.context('httpMethod'),
            apigateway.IdentitySource.context('resourcePath'),
          ],
        }),
    );
    expect(() => Template.fromStack(keyed)).not.toThrow();
    const token = build((stack, handler) => new apigateway.TokenAuthorizer(stack, 'Hand', { handler }));
    expect(() => Template.fromStack(token)).not.toThrow();
  });

  it('HTTP API: a hand-made Lambda authorizer calling the token authorizer must key on method and path', () => {
    const stack = newStack();
    const { api, auth } = httpApiWith(stack, {});
    new apigwv2.HttpAuthorizer(stack, 'Hand', {
      httpApi: api,
      type: apigwv2.HttpAuthorizerType.LAMBDA,
      identitySource: ['$request.header.Authorization'],
      enableSimpleResponses: true,
      payloadFormatVersion: apigwv2.AuthorizerPayloadVersion.VERSION_2_0,
      authorizerUri: `arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/${auth.functionArn}/invocations`,
      resultsCacheTtl: Duration.seconds(30),
    });
    expect(() => Template.fromStack(stack)).toThrow(
      /Api\/Hand\/Resource: it calls the token authorizer.*\$context\.httpMethod and \$context\.path/,
    );
  });
});

describe('the stack: authorizerInvokerAccounts', () => {
  let stack: AccessTokensStack;
  let template: Template;
  let accounts: string[];

  beforeAll(() => {
    // The most accounts the configuration accepts: the worst case for the function's policy.
    accounts = largestAcceptedAccountList();
    ({ stack, template } = synthesize({
      context: { authorizerInvokerAccounts: JSON.stringify(accounts) },
    }));
  }, scaled(120_000));

  it("lets API Gateway authorizers of each listed account invoke the token authorizer, in the stack's region", () => {
    expect(accounts.length).toBeGreaterThan(1);
    for (const account of accounts) {
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        FunctionName: arnOf(stack.tokenAuthorizer.function),
        SourceAccount: account,
        SourceArn: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':execute-api:',
              { Ref: 'AWS::Region' },
              `:${account}:*/authorizers/*`,
            ],
          ],
        },
      });
    }
  });

  it('gives every Lambda permission a SourceArn that AWS::Lambda::Permission accepts', () => {
    // Fails before the fix: the invoker accounts' SourceArn had `*` as its region.
    expectDeployableSourceArns(template);
  });

  it("keeps the token authorizer's resource policy under Lambda's 20 KB, with room for same-account APIs", () => {
    const functionArn = JSON.stringify(arnOf(stack.tokenAuthorizer.function));
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter(
      (permission) => JSON.stringify(permission.Properties.FunctionName) === functionArn,
    );
    // The listed accounts and the demo API's authorizer.
    expect(permissions).toHaveLength(accounts.length + 1);
    const env = LONGEST_ENVIRONMENT;
    const sameAccountApi = {
      Principal: 'apigateway.amazonaws.com',
      Action: 'lambda:InvokeFunction',
      SourceArn: `arn:${env.partition}:execute-api:${env.region}:${env.account}:abcdefghij/authorizers/abcdef`,
    };
    const statements = [
      ...permissions.map((permission) => storedStatement(permission.Properties, env)),
      // The demo API's is one of these already; the others are APIs attached later.
      ...Array.from({ length: SAME_ACCOUNT_API_STATEMENTS - 1 }, () => storedStatement(sameAccountApi, env)),
    ];
    const policy = JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: statements });
    // Fails before the fix: 50 accounts were accepted, about 26 KB.
    expect(Buffer.byteLength(policy, 'utf8')).toBeLessThanOrEqual(RESOURCE_POLICY_LIMIT_BYTES);
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
      expectDeployableSourceArns(defaults);
    },
    scaled(120_000),
  );
});
