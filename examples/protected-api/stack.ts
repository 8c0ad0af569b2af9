import { type App, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { type RouteScopeMap, TokenAuthorizer } from '../../lib/index.js';

// An API of your own, protected by the token authorizer that the Access Tokens stack deployed. It
// refers to that function by ARN only (the stack's `TokenAuthorizerFunctionArn` output), as an app
// in another repository or account would.

/** Synthesizes as it is; replace it with your deployment's `TokenAuthorizerFunctionArn`. */
export const PLACEHOLDER_AUTHORIZER_ARN =
  'arn:aws:lambda:us-east-1:123456789012:function:AccessTokens-TokenAuthorizer';
/**
 * Without the deployment's `TokenAuthorizerCacheTtlSeconds` output, no gateway cache: that never
 * lets a revoked token pass longer than the deployment's revocation window, whatever it is.
 */
const PLACEHOLDER_CACHE_TTL_SECONDS = 0;

/** The REST API's paths start with an area after `/api`: `GET /api/reports/...` needs `reports:read`. */
const REST_BASE_PATH = '/api';

/**
 * The HTTP API's paths do not start with an area (`jobs` is not one), so each route names its
 * scope. Routes are relative to the base path, which is '' here.
 */
export const JOB_ROUTE_SCOPES: RouteScopeMap = {
  'GET /jobs': 'triggers:read',
  'GET /jobs/{id}': 'triggers:read',
  'POST /jobs/{id}/run': 'triggers:write',
};

interface ProtectedApiStackProps extends StackProps {
  /** The deployed token authorizer's ARN. */
  readonly tokenAuthorizerArn: string;
  /**
   * API Gateway's result cache TTL: the deployment's `TokenAuthorizerCacheTtlSeconds` output (what
   * its revocation window leaves after the function's own cache).
   */
  readonly tokenAuthorizerCacheTtlSeconds: number;
}

export class ProtectedApiStack extends Stack {
  public readonly restApi: apigateway.RestApi;
  public readonly httpApi: apigwv2.HttpApi;
  public readonly reportsAuthorizer: TokenAuthorizer;
  public readonly jobsAuthorizer: TokenAuthorizer;

  constructor(scope: Construct, id: string, props: ProtectedApiStackProps) {
    super(scope, id, props);

    // REST API, area rule: one TokenAuthorizer, and its method options on every method.
    this.restApi = new apigateway.RestApi(this, 'ReportsApi', {
      description: 'Example: a REST API behind the Access Tokens token authorizer (area rule)',
      deployOptions: { stageName: 'v1' },
      // The account-level API Gateway logging role is the account owner's business, not an example's.
      cloudWatchRole: false,
    });
    const cacheTtl = Duration.seconds(props.tokenAuthorizerCacheTtlSeconds);
    this.reportsAuthorizer = new TokenAuthorizer(this, 'ReportsAuthorizer', {
      functionArn: props.tokenAuthorizerArn,
      cacheTtl,
      basePath: REST_BASE_PATH,
    });
    const auth = this.reportsAuthorizer.restMethodOptions(this.restApi);
    const echo = echoIntegration();
    const methodResponses = [{ statusCode: '200' }];
    const reports = this.restApi.root.resourceForPath(`${REST_BASE_PATH}/reports`);
    reports.addMethod('GET', echo, { ...auth, methodResponses }); // reports:read
    reports.addMethod('POST', echo, { ...auth, methodResponses }); // reports:write
    reports.addResource('{id}').addMethod('GET', echo, { ...auth, methodResponses }); // reports:read

    // HTTP API, route map: the scope comes from the route API Gateway matched.
    const jobsFunction = new lambda.Function(this, 'JobsFunction', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      description: 'Example: echoes the token authorizer context',
      code: lambda.Code.fromInline(
        // The simple-response authorizer's context arrives under requestContext.authorizer.lambda.
        'exports.handler = async (event) => ({ statusCode: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ route: event.routeKey, authorizer: event.requestContext.authorizer.lambda }) });',
      ),
    });
    this.httpApi = new apigwv2.HttpApi(this, 'JobsApi', {
      description: 'Example: an HTTP API behind the Access Tokens token authorizer (route map)',
    });
    this.jobsAuthorizer = new TokenAuthorizer(this, 'JobsAuthorizer', {
      functionArn: props.tokenAuthorizerArn,
      cacheTtl,
      routeScopes: JOB_ROUTE_SCOPES,
    });
    const authorizer = this.jobsAuthorizer.forHttpApi(this.httpApi);
    const integration = new HttpLambdaIntegration('Jobs', jobsFunction);
    this.httpApi.addRoutes({ path: '/jobs', methods: [apigwv2.HttpMethod.GET], integration, authorizer });
    this.httpApi.addRoutes({
      path: '/jobs/{id}',
      methods: [apigwv2.HttpMethod.GET],
      integration,
      authorizer,
    });
    this.httpApi.addRoutes({
      path: '/jobs/{id}/run',
      methods: [apigwv2.HttpMethod.POST],
      integration,
      authorizer,
    });

    new CfnOutput(this, 'ReportsApiUrl', { value: this.restApi.url });
    new CfnOutput(this, 'JobsApiUrl', { value: this.httpApi.apiEndpoint });
  }
}

/** A mock integration that answers 200 with what the authorizer told API Gateway. */
function echoIntegration(): apigateway.MockIntegration {
  return new apigateway.MockIntegration({
    requestTemplates: { 'application/json': '{"statusCode": 200}' },
    integrationResponses: [
      {
        statusCode: '200',
        responseTemplates: {
          'application/json':
            '{"tokenId":"$context.authorizer.tokenId","accountId":"$context.authorizer.accountId","scopes":"$context.authorizer.scopes"}',
        },
      },
    ],
  });
}

/**
 * The example's stack, from the app's context (`-c tokenAuthorizerArn=...
 * -c tokenAuthorizerCacheTtlSeconds=...`).
 */
export function buildProtectedApiStack(app: App, id = 'ProtectedApiExample'): ProtectedApiStack {
  const arn: unknown = app.node.tryGetContext('tokenAuthorizerArn');
  if (arn !== undefined && typeof arn !== 'string') throw new Error('tokenAuthorizerArn must be a string');
  const ttl: unknown = app.node.tryGetContext('tokenAuthorizerCacheTtlSeconds');
  // `-c key=50` arrives as a string; cdk.json may hold a number.
  const ttlSeconds = ttl === undefined ? PLACEHOLDER_CACHE_TTL_SECONDS : Number(ttl);
  if (!Number.isInteger(ttlSeconds)) throw new Error('tokenAuthorizerCacheTtlSeconds must be whole seconds');
  return new ProtectedApiStack(app, id, {
    tokenAuthorizerArn: arn ?? PLACEHOLDER_AUTHORIZER_ARN,
    tokenAuthorizerCacheTtlSeconds: ttlSeconds,
  });
}
