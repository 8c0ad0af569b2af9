import { Duration, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RouteDefinition } from '../lambdas/contract/routes.js';
import type { ThrottleConfig } from './config.js';
import { type ApiGatewayCloudWatchRole, SecureRestApi } from './constructs/rest-api.js';
import { JWT_AUTHORIZER_CACHE_TTL_SECONDS, JWT_AUTHORIZER_IDENTITY_SOURCES } from './gateway-settings.js';

interface ManagementRouteBinding {
  readonly route: RouteDefinition;
  readonly handler: lambda.IFunction;
}

interface ManagementApiProps {
  /** The API's name, unique in the account and Region: its metrics are found by it (`ApiName`). */
  readonly restApiName: string;
  /** One method per route (lambdas/contract/routes.ts), each a Lambda proxy integration to its function. */
  readonly routes: readonly ManagementRouteBinding[];
  /** The JWT authorizer: verifies the caller's ID token (OIDC / Cognito) on `auth: 'jwt'` routes. */
  readonly jwtAuthorizerFunction: lambda.IFunction;
  readonly throttle: ThrottleConfig;
  /** @default - the account already has one (see SecureRestApiProps) */
  readonly cloudWatchRole?: ApiGatewayCloudWatchRole;
  /**
   * How long API Gateway caches the JWT authorizer's decision per Authorization header.
   * @default Duration.seconds(60)
   */
  readonly authorizerCacheTtl?: Duration;
  /** @default 'v1' */
  readonly stageName?: string;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
}

/** The management REST API: the route table as API Gateway methods, behind the JWT authorizer. */
export class ManagementApi extends Construct {
  public readonly api: apigateway.RestApi;
  public readonly accessLogGroup: logs.LogGroup;
  /** The stage's name as plain text (`v1`): its URL path, `<url>/<stageName>/...`. */
  public readonly stageName: string;
  public readonly authorizer: apigateway.RequestAuthorizer;
  /** The method of each route, by route name. */
  public readonly methods: Readonly<Record<string, apigateway.Method>>;

  constructor(scope: Construct, id: string, props: ManagementApiProps) {
    super(scope, id);
    const restApi = new SecureRestApi(this, 'RestApi', {
      restApiName: props.restApiName,
      description: 'Access Tokens: create, list, rotate and revoke API access tokens',
      throttle: props.throttle,
      ...(props.cloudWatchRole === undefined ? {} : { cloudWatchRole: props.cloudWatchRole }),
      ...(props.stageName === undefined ? {} : { stageName: props.stageName }),
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      requestValidationReason:
        'Requests are validated in the handlers with the same zod schemas that generate the OpenAPI document (unknown fields and oversized bodies are refused in the contract error shape); API Gateway models would duplicate them and could drift.',
    });
    this.api = restApi.api;
    this.accessLogGroup = restApi.accessLogGroup;
    this.stageName = restApi.stageName;

    // The cache key is the Authorization header alone, so the authorizer's policy must cover every
    // method of the API (the handlers check roles per route).
    const authorizerCacheTtl = props.authorizerCacheTtl ?? Duration.seconds(JWT_AUTHORIZER_CACHE_TTL_SECONDS);
    this.authorizer = new apigateway.RequestAuthorizer(this, 'JwtAuthorizer', {
      handler: props.jwtAuthorizerFunction,
      identitySources: [...JWT_AUTHORIZER_IDENTITY_SOURCES],
      resultsCacheTtl: authorizerCacheTtl,
    });
    // An authorizer change takes effect with the next deployment of the stage: make it one.
    this.api.latestDeployment?.addToLogicalId({ jwtAuthorizerCacheTtl: authorizerCacheTtl.toSeconds() });

    const methods: Record<string, apigateway.Method> = {};
    for (const { route, handler } of props.routes) {
      const resource = this.api.root.resourceForPath(route.path);
      const integration = new apigateway.LambdaIntegration(handler, { proxy: true, allowTestInvoke: false });
      const method = resource.addMethod(route.method, integration, {
        ...methodAuthorization(route, this.authorizer),
        operationName: route.name,
      });
      if (route.auth === 'public') {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${route.method} ${route.path} is public by design (route table: auth 'public'): ${route.summary}`,
        });
      }
      Validations.of(method).acknowledge({ id: 'AwsSolutions-COG4', reason: userPoolReason(route) });
      methods[route.name] = method;
    }
    this.methods = methods;
  }

  /** The stage's invoke URL (ends in `/`). */
  public get url(): string {
    return this.api.url;
  }

  /**
   * The ARN a caller's IAM policy allows (`execute-api:Invoke`) to call an `iam` route of this
   * stage, e.g. `arnForRoute(routeNamed('verifyToken'))` for POST /verify (docs/verify.md).
   */
  public arnForRoute(route: Pick<RouteDefinition, 'method' | 'path'>): string {
    return this.api.arnForExecuteApi(route.method, route.path, this.stageName);
  }
}

/** How API Gateway authorizes a route's method, by the route table's `auth`. */
function methodAuthorization(
  route: RouteDefinition,
  authorizer: apigateway.IAuthorizer,
): Pick<apigateway.MethodOptions, 'authorizer' | 'authorizationType'> {
  switch (route.auth) {
    case 'jwt':
      return { authorizer, authorizationType: apigateway.AuthorizationType.CUSTOM };
    case 'iam':
      // SigV4: API Gateway checks the signature and the signer's execute-api:Invoke on this method
      // before the function runs; only principals the operator's policies allow get through.
      return { authorizationType: apigateway.AuthorizationType.IAM };
    case 'public':
      return { authorizationType: apigateway.AuthorizationType.NONE };
  }
}

/** Why no Cognito user pool authorizer (cdk-nag AwsSolutions-COG4) is right for the route. */
function userPoolReason(route: RouteDefinition): string {
  switch (route.auth) {
    case 'jwt':
      return "Authorized by a Lambda REQUEST authorizer that verifies Cognito ID tokens (or, in OIDC mode, any issuer's JWTs) with aws-jwt-verify and maps the account and role claims; a Cognito authorizer could not serve OIDC issuers nor check those claims.";
    case 'iam':
      return `${route.method} ${route.path} is for services, not people: IAM (SigV4) authorization, so only AWS principals the operator allows execute-api:Invoke may call it (docs/verify.md).`;
    case 'public':
      return `${route.method} ${route.path} is public by design: no user pool authorizer applies.`;
  }
}
