import { Aws, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { gatewayCacheTtlSeconds } from '../lambdas/core/settings.js';
import { FUNCTION_ENTRIES, MANAGEMENT_ROUTES } from '../lambdas/routes.js';
import { ENV } from '../lambdas/runtime/env.js';
import type { DeploymentConfig, LogRetentionDays } from './config.js';
import { ExpiryLedger } from './constructs/expiry-ledger.js';
import { Notifications } from './constructs/notifications.js';
import { ServiceAlarms } from './constructs/service-alarms.js';
import { DemoApi } from './demo-api.js';
import { HmacKey } from './hmac-key.js';
import { ManagementIdentity } from './identity.js';
import { ManagementApi } from './management-api.js';
import { ManagementFunctions } from './management-functions.js';
import { ApiGatewayCloudWatchRole } from './rest-api.js';
import { ServiceFunction } from './service-function.js';
import { declareTokenAuthorizerSettings } from './token-authorizer.js';
import { TokenTable } from './token-table.js';

export interface AccessTokensStackProps extends StackProps {
  /** The validated deployment configuration (lib/config.ts, from cdk.json context). */
  readonly config: DeploymentConfig;
}

/**
 * Access Tokens: the token table, the KMS-backed HMAC key, the management API with its functions
 * and JWT authorizer, the token authorizer other APIs attach, and (optionally) a demo API.
 */
export class AccessTokensStack extends Stack {
  public readonly table: TokenTable;
  public readonly hmacKey: HmacKey;
  public readonly identity: ManagementIdentity;
  public readonly managementFunctions: ManagementFunctions;
  public readonly tokenAuthorizer: ServiceFunction;
  public readonly jwtAuthorizer: ServiceFunction;
  public readonly managementApi: ManagementApi;
  public readonly demoApi: DemoApi | undefined;
  public readonly notifications: Notifications;
  public readonly expiryLedger: ExpiryLedger;
  public readonly alarms: ServiceAlarms;

  constructor(scope: Construct, id: string, props: AccessTokensStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = retentionDaysOf(config.logRetentionDays);
    const policySettings = JSON.stringify(config.policy);

    this.table = new TokenTable(this, 'TokenTable');
    this.hmacKey = new HmacKey(this, 'HmacKey', { logRetention });
    // Emails come from the table's stream, never from the request path.
    this.notifications = new Notifications(this, 'Notifications', {
      table: this.table.table,
      senderAddress: config.senderAddress,
      sesIdentity: config.sesIdentity,
      sesIdentityExists: config.sesIdentityExists,
      reminderWindowDays: config.reminderWindowDays,
      logRetention,
    });
    new CfnOutput(this, 'NotificationDeadLetterQueueUrl', {
      description: 'Failed notification emails (stream records past their retries)',
      value: this.notifications.deadLetterQueue.queueUrl,
    });
    this.identity = new ManagementIdentity(this, 'Identity', {
      identity: config.identity,
      claims: { accountId: config.accountIdClaim, role: config.roleClaim, email: config.emailClaim },
    });

    this.managementFunctions = new ManagementFunctions(this, 'Routes', {
      routes: MANAGEMENT_ROUTES,
      table: this.table,
      hmacKey: this.hmacKey,
      policy: config.policy,
      logRetention,
    });

    // The token authorizer: one strongly consistent GetItem on the base table, kms:Decrypt of the
    // HMAC key under its encryption context, and UpdateItem of token items' lastUsedAt only.
    this.tokenAuthorizer = new ServiceFunction(this, 'TokenAuthorizer', {
      entry: FUNCTION_ENTRIES.tokenAuthorizer,
      description: 'Access Tokens: API Gateway authorizer for API access tokens',
      memorySize: 512,
      logRetention,
      environment: {
        [ENV.tableName]: this.table.table.tableName,
        [ENV.policySettings]: policySettings,
        ...this.hmacKey.environment,
        // Fallback only: an API names its base path in the `accessTokensBasePath` stage variable.
        [ENV.authorizerBasePath]: '',
      },
    });
    // A TokenAuthorizer given this function takes its default cache TTL from these settings.
    declareTokenAuthorizerSettings(this.tokenAuthorizer.function, config.policy);
    this.table.grantVerify(this.tokenAuthorizer.role);
    this.table.grantRecordLastUsed(this.tokenAuthorizer.role);
    this.hmacKey.grantDecrypt(this.tokenAuthorizer.role);
    // APIs in other accounts attach the authorizer by ARN; only this (the function's) account can
    // let their API Gateway invoke it. Authorizer invocations only (`.../authorizers/*`) of APIs in
    // this stack's region (an authorizer calls a function of its own region): an integration of
    // theirs cannot call it. The region is named, not `*`: AWS::Lambda::Permission's SourceArn
    // pattern does not accept a wildcard region, and the deployment would fail.
    for (const account of config.authorizerInvokerAccounts) {
      this.tokenAuthorizer.function.addPermission(`InvokeFromAccount${account}`, {
        principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
        action: 'lambda:InvokeFunction',
        sourceAccount: account,
        sourceArn: `arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${account}:*/authorizers/*`,
      });
    }

    // The JWT authorizer of the management API: verifies JWTs against the issuer's JWKS, no table.
    this.jwtAuthorizer = new ServiceFunction(this, 'JwtAuthorizer', {
      entry: FUNCTION_ENTRIES.jwtAuthorizer,
      description: 'Access Tokens: management API authorizer (OIDC / Cognito JWTs)',
      logRetention,
      environment: { ...this.identity.jwtEnvironment },
    });

    // TTL deletions of still-active token items: release their limit slots, audit `token.expired`.
    this.expiryLedger = new ExpiryLedger(this, 'ExpiryLedger', {
      table: this.table.table,
      policy: config.policy,
      logRetention,
    });
    new CfnOutput(this, 'ExpiryLedgerDeadLetterQueueUrl', {
      description: 'Expired tokens whose limit slot was not released (stream records past their retries)',
      value: this.expiryLedger.deadLetterQueue.queueUrl,
    });

    const cloudWatchRole = new ApiGatewayCloudWatchRole(this, 'ApiGatewayCloudWatchRole');
    this.managementApi = new ManagementApi(this, 'ManagementApi', {
      routes: MANAGEMENT_ROUTES.map((route) => ({
        route,
        handler: this.managementFunctions.functionOf(route.name).function,
      })),
      jwtAuthorizerFunction: this.jwtAuthorizer.function,
      throttle: config.managementThrottle,
      cloudWatchRole,
      logRetention,
    });

    if (config.demoApi) {
      const demoFunction = new ServiceFunction(this, 'DemoFunction', {
        entry: FUNCTION_ENTRIES.demoApi,
        description: 'Access Tokens demo API: echoes the token authorizer context',
        logRetention,
      });
      this.demoApi = new DemoApi(this, 'DemoApi', {
        handler: demoFunction.function,
        tokenAuthorizerFunction: this.tokenAuthorizer.function,
        authorizerCacheTtl: Duration.seconds(gatewayCacheTtlSeconds(config.policy)),
        throttle: config.managementThrottle,
        cloudWatchRole,
        logRetention,
      });
    } else {
      this.demoApi = undefined;
    }

    // Next to the dead-letter queue alarms (Notifications, ExpiryLedger): the request path.
    this.alarms = new ServiceAlarms(this, 'Alarms', {
      tokenAuthorizerFunction: this.tokenAuthorizer.function,
      apis: {
        ManagementApi: this.managementApi.api,
        ...(this.demoApi === undefined ? {} : { DemoApi: this.demoApi.api }),
      },
    });

    new CfnOutput(this, 'ManagementApiUrl', {
      description: 'Base URL of the management API',
      value: this.managementApi.url,
    });
    new CfnOutput(this, 'TokenAuthorizerFunctionArn', {
      description:
        'The token authorizer: attach it to your REST and HTTP APIs with the TokenAuthorizer construct (lib/token-authorizer.ts)',
      value: this.tokenAuthorizer.function.functionArn,
    });
    new CfnOutput(this, 'TokenAuthorizerCacheTtlSeconds', {
      description:
        "The longest API Gateway result cache TTL the revocation window allows: the TokenAuthorizer construct's cacheTtl for a function given by ARN",
      value: String(gatewayCacheTtlSeconds(config.policy)),
    });
    if (this.identity.userPool !== undefined && this.identity.userPoolClient !== undefined) {
      new CfnOutput(this, 'UserPoolId', { value: this.identity.userPool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: this.identity.userPoolClient.userPoolClientId });
    }
    if (this.demoApi !== undefined) {
      new CfnOutput(this, 'DemoApiUrl', {
        description: 'Base URL of the demo API (try GET <url>demo/content with a token)',
        value: this.demoApi.url,
      });
    }
  }
}

function retentionDaysOf(days: LogRetentionDays): logs.RetentionDays {
  const retention = Object.values(logs.RetentionDays).find((value) => value === days);
  if (typeof retention !== 'number') throw new Error(`CloudWatch Logs has no retention of ${days} days`);
  return retention;
}
