import { Duration, type Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { gatewayCacheTtlSeconds } from '../../lambdas/core/settings.js';
import type { DeploymentConfig, ThrottleConfig } from '../config.js';
import { FUNCTION_ENTRIES } from '../function-entries.js';
import { DEMO_API_BASE_PATH, DEMO_API_ROUTES } from '../gateway-settings.js';
import { TokenAuthorizer } from '../token-authorizer.js';
import { type ApiGatewayCloudWatchRole, SecureRestApi } from './rest-api.js';
import { ServiceFunction } from './service-function.js';

interface DemoApiProps {
  /** The API's name, unique in the account and Region: its metrics are found by it (`ApiName`). */
  readonly restApiName: string;
  /** Answers `ANY /demo/{area}/...` by echoing the authorizer context. */
  readonly handler: lambda.IFunction;
  /** The token authorizer of this project (the same function other APIs attach). */
  readonly tokenAuthorizerFunction: lambda.IFunction;
  /** Result cache TTL of the token authorizer: the revocation window. */
  readonly authorizerCacheTtl: Duration;
  readonly throttle: ThrottleConfig;
  /** @default - the account already has one (see SecureRestApiProps) */
  readonly cloudWatchRole?: ApiGatewayCloudWatchRole;
  /**
   * The path before the scope's area segment.
   * @default '/demo'
   */
  readonly basePath?: string;
  /** @default 'v1' */
  readonly stageName?: string;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * A demo API behind the token authorizer, attached as any other API attaches it (TokenAuthorizer):
 * `ANY /demo/{area}` and `ANY /demo/{area}/{proxy+}`. Its stage variable `accessTokensBasePath`
 * tells the shared authorizer where the area segment starts, so one deployed authorizer can serve
 * many APIs.
 */
export class DemoApi extends Construct {
  public readonly api: apigateway.RestApi;
  public readonly accessLogGroup: logs.LogGroup;
  public readonly tokenAuthorizer: TokenAuthorizer;
  public readonly authorizer: apigateway.RequestAuthorizer;
  public readonly basePath: string;

  constructor(scope: Construct, id: string, props: DemoApiProps) {
    super(scope, id);
    this.basePath = props.basePath ?? DEMO_API_BASE_PATH;
    const restApi = new SecureRestApi(this, 'RestApi', {
      restApiName: props.restApiName,
      description: 'Access Tokens demo: echoes the token authorizer context',
      throttle: props.throttle,
      ...(props.cloudWatchRole === undefined ? {} : { cloudWatchRole: props.cloudWatchRole }),
      ...(props.stageName === undefined ? {} : { stageName: props.stageName }),
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      requestValidationReason:
        'The demo handler reads no body or parameters: it only echoes the token authorizer context.',
    });
    this.api = restApi.api;
    this.accessLogGroup = restApi.accessLogGroup;

    // The area rule only (no route map): identity sources Authorization + source IP, the base path
    // in the stage variable, and a redeployment whenever the cache TTL changes.
    this.tokenAuthorizer = new TokenAuthorizer(this, 'TokenAuthorizer', {
      handler: props.tokenAuthorizerFunction,
      basePath: this.basePath,
      cacheTtl: props.authorizerCacheTtl,
    });
    this.authorizer = this.tokenAuthorizer.forRestApi(this.api);

    const integration = new apigateway.LambdaIntegration(props.handler, {
      proxy: true,
      allowTestInvoke: false,
    });
    const methodOptions = this.tokenAuthorizer.restMethodOptions(this.api);
    // The routes the local gateway serves too (lib/gateway-settings.ts).
    const methods = DEMO_API_ROUTES.map((route) =>
      this.api.root.resourceForPath(`${this.basePath}/${route}`).addMethod('ANY', integration, methodOptions),
    );
    for (const method of methods) {
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-COG4',
        reason:
          "Authorized by this project's token authorizer (API access tokens, not user pool sessions): that is what the demo API demonstrates.",
      });
    }
  }

  public get url(): string {
    return this.api.url;
  }
}

/**
 * The demo API as every stack of a deployment adds it, when cdk.json's `demoApi` asks for it: its
 * echo function and the API behind that stack's token authorizer, with the gateway cache TTL of the
 * deployment's revocation window and the management API's throttle; the ids `DemoFunction` and
 * `DemoApi` sit in the stack itself.
 */
export function deployDemoApi(
  stack: Stack,
  config: Pick<DeploymentConfig, 'demoApi' | 'policy' | 'managementThrottle'>,
  props: {
    readonly tokenAuthorizerFunction: lambda.IFunction;
    readonly cloudWatchRole: ApiGatewayCloudWatchRole | undefined;
    readonly logRetention: logs.RetentionDays;
  },
): DemoApi | undefined {
  if (!config.demoApi) return undefined;
  const demoFunction = new ServiceFunction(stack, 'DemoFunction', {
    entry: FUNCTION_ENTRIES.demoApi,
    description: 'Access Tokens demo API: echoes the token authorizer context',
    logRetention: props.logRetention,
  });
  return new DemoApi(stack, 'DemoApi', {
    restApiName: `${stack.stackName}-demo`,
    handler: demoFunction.function,
    tokenAuthorizerFunction: props.tokenAuthorizerFunction,
    authorizerCacheTtl: Duration.seconds(gatewayCacheTtlSeconds(config.policy)),
    throttle: config.managementThrottle,
    ...(props.cloudWatchRole === undefined ? {} : { cloudWatchRole: props.cloudWatchRole }),
    logRetention: props.logRetention,
  });
}
