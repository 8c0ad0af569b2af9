import { Annotations, Aspects, Aws, CfnOutput, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { MANAGEMENT_ROUTES, routeNamed } from '../lambdas/contract/routes.js';
import { gatewayCacheTtlSeconds } from '../lambdas/core/settings.js';
import { ENV } from '../lambdas/runtime/env.js';
import type { DeploymentConfig } from './config.js';
import { ConsoleHosting } from './constructs/console-hosting.js';
import type { DemoApi } from './constructs/demo-api.js';
import { ExpiryLedger } from './constructs/expiry-ledger.js';
import { HmacKey } from './constructs/hmac-key.js';
import { ManagementIdentity } from './constructs/identity.js';
import { Notifications } from './constructs/notifications.js';
import type { ApiGatewayCloudWatchRole } from './constructs/rest-api.js';
import { RevokeAllJobs } from './constructs/revoke-all-jobs.js';
import { ServiceAlarms } from './constructs/service-alarms.js';
import { ServiceFunction } from './constructs/service-function.js';
import type { TokenAuthorizerFunction } from './constructs/token-authorizer-function.js';
import { TokenTable } from './constructs/token-table.js';
import { UsagePlans } from './constructs/usage-plans.js';
import { DEPLOYED_ROUTES, FUNCTION_ENTRIES } from './function-entries.js';
import { ManagementApi } from './management-api.js';
import { ManagementFunctions } from './management-functions.js';
import { globalTableNameOf, regionsOf } from './regions.js';
import { deployRequestPath } from './request-path.js';
import { LambdaEnvironmentLimit, LogGroupsRetainedExceptOnCreate, logRetentionOf } from './stack-policies.js';

/** The id of the synth warning a deployment without a sender gets. */
export const EMAILS_OFF_WARNING_ID = 'access-tokens:emailsOff';

export interface AccessTokensStackProps extends StackProps {
  /** The validated deployment configuration (lib/config.ts, from cdk.json context). */
  readonly config: DeploymentConfig;
}

/**
 * Access Tokens: the token table, the KMS-backed HMAC key, the management API with its functions
 * and JWT authorizer, the token authorizer other APIs attach, emails (when a sender is configured)
 * and (optionally) a demo API.
 *
 * What outlives `cdk destroy` (README "Tear down"): the table and the user pool (RETAIN, with
 * deletion protection), the KMS key, the SES identity, every log group and the API Gateway logging
 * role. Log groups and the SES identity are RETAIN_ON_UPDATE_OR_DELETE: the rollback of the deploy
 * that created them deletes them, so a failed first deploy leaves no orphans.
 *
 * Logical ids of the stateful resources are pinned by test/infra/logical-ids.test.ts: a construct
 * rename would replace them (a new, empty table or user pool, a new key that cannot decrypt the
 * HMAC key).
 */
export class AccessTokensStack extends Stack {
  public readonly table: TokenTable;
  public readonly hmacKey: HmacKey;
  public readonly identity: ManagementIdentity;
  public readonly managementFunctions: ManagementFunctions;
  /** Revoke-all jobs' queue and worker. */
  public readonly revokeAllJobs: RevokeAllJobs;
  public readonly tokenAuthorizer: TokenAuthorizerFunction;
  /** One usage plan per token type and the usage-key consumer (docs/rate-limits.md). */
  public readonly usagePlans: UsagePlans;
  public readonly jwtAuthorizer: ServiceFunction;
  public readonly managementApi: ManagementApi;
  public readonly demoApi: DemoApi | undefined;
  /** Undefined when no sender is configured: the stack then deploys without emails. */
  public readonly notifications: Notifications | undefined;
  /** Undefined with `apiGatewayCloudWatchRole: existing`. */
  public readonly apiGatewayCloudWatchRole: ApiGatewayCloudWatchRole | undefined;
  public readonly expiryLedger: ExpiryLedger;
  public readonly alarms: ServiceAlarms;
  /** The web console's hosting; undefined with `consoleEnabled: false`. */
  public readonly console: ConsoleHosting | undefined;

  constructor(scope: Construct, id: string, props: AccessTokensStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = logRetentionOf(config.logRetentionDays);

    Aspects.of(this).add(new LogGroupsRetainedExceptOnCreate());
    Aspects.of(this).add(new LambdaEnvironmentLimit());

    // Several Regions (README "Several Regions"): this is the home stack; the table becomes a global
    // table with a replica per edge Region and the HMAC key's KMS key a multi-Region primary. In one
    // Region neither changes (same resources, same template).
    const regions = regionsOf(config);
    if (regions !== undefined && this.region !== regions.home) {
      throw new Error(
        `The home stack must be deployed in the home Region ${regions.home} (the first of regions)`,
      );
    }
    this.table = new TokenTable(this, 'TokenTable', {
      ...(config.indexUpgradeStep === undefined ? {} : { indexUpgradeStep: config.indexUpgradeStep }),
      ...(regions === undefined
        ? {}
        : { replicaRegions: regions.edges, tableName: globalTableNameOf(this.stackName) }),
    });
    this.hmacKey = new HmacKey(this, 'HmacKey', {
      logRetention,
      ...(regions === undefined ? {} : { multiRegion: true }),
    });
    if (regions !== undefined) {
      new CfnOutput(this, 'HomeRegion', {
        description: 'The home Region: every management write, email and ledger entry happens here',
        value: regions.home,
      });
      new CfnOutput(this, 'GlobalTableName', {
        description: 'The global table every Region reads its own replica of',
        value: this.table.table.tableName,
      });
    }
    this.notifications = this.addNotifications(config, logRetention);
    // Several Regions: an expiry may reach the notifier as a TTL deletion replicated from another Region.
    if (regions !== undefined) this.notifications?.notifier.function.addEnvironment(ENV.globalTable, 'true');
    // The console's distribution comes first: the app client's callback URL is its address.
    this.console = config.consoleEnabled
      ? new ConsoleHosting(this, 'Console', {
          logRetention,
          logRetentionDays: config.logRetentionDays,
          ...(config.consoleDomain === undefined
            ? {}
            : {
                domainNames: [config.consoleDomain.domainName],
                certificate: acm.Certificate.fromCertificateArn(
                  this,
                  'ConsoleCertificate',
                  config.consoleDomain.certificateArn,
                ),
              }),
        })
      : undefined;
    this.identity = new ManagementIdentity(this, 'Identity', {
      identity: config.identity,
      claims: { accountId: config.accountIdClaim, role: config.roleClaim, email: config.emailClaim },
      ...(this.console === undefined
        ? {}
        : { console: { url: this.console.url, domainPrefix: this.managedLoginDomainPrefix() } }),
    });

    this.managementFunctions = new ManagementFunctions(this, 'Routes', {
      routes: DEPLOYED_ROUTES,
      table: this.table,
      hmacKey: this.hmacKey,
      policy: config.policy,
      logRetention,
      usagePlanPrefix: this.stackName,
    });
    // What a revoke-all cannot finish within its request (lambdas/core/revoke-all-job.ts).
    this.revokeAllJobs = new RevokeAllJobs(this, 'RevokeAllJobs', {
      table: this.table,
      policy: config.policy,
      routeFunction: this.managementFunctions.functionOf('revokeAllTokens'),
      logRetention,
    });

    // Per-token rate limits and quotas (docs/rate-limits.md): a usage plan per token type and the
    // usage-key consumer; a TokenAuthorizer given the authorizer function (below) puts its REST
    // APIs' stages on the plans.
    this.usagePlans = new UsagePlans(this, 'UsagePlans', {
      table: this.table.table,
      policy: config.policy,
      planPrefix: this.stackName,
      logRetention,
    });
    // The token authorizer (lib/constructs/token-authorizer-function.ts), the Region's API Gateway
    // logging role (this stack's own, retained, or the account's) and the demo API: what every
    // Region of a deployment has (lib/request-path.ts).
    ({
      tokenAuthorizer: this.tokenAuthorizer,
      apiGatewayCloudWatchRole: this.apiGatewayCloudWatchRole,
      demoApi: this.demoApi,
    } = deployRequestPath(this, config, {
      table: this.table,
      hmacKey: this.hmacKey,
      usagePlans: this.usagePlans,
      logRetention,
    }));
    new CfnOutput(this, 'UsageKeysTableName', {
      description:
        'The token table, for `npm run sync:usage-keys -- --table <this> --plan-prefix <stack name>` after an upgrade',
      value: this.table.table.tableName,
    });
    new CfnOutput(this, 'UsageKeysDeadLetterQueueUrl', {
      description:
        'Tokens whose usage key was not synced with API Gateway (stream records past their retries)',
      value: this.usagePlans.consumer.deadLetterQueue.queueUrl,
    });

    // The JWT authorizer of the management API: verifies JWTs against the issuer's JWKS, no table.
    this.jwtAuthorizer = new ServiceFunction(this, 'JwtAuthorizer', {
      entry: FUNCTION_ENTRIES.jwtAuthorizer,
      description: 'Access Tokens: management API authorizer (OIDC / Cognito JWTs)',
      logRetention,
      environment: { ...this.identity.jwtEnvironment, [ENV.tableName]: this.table.table.tableName },
    });
    // Management access follows the admin's switch (lambdas/core/user-access-service.ts).
    this.table.grantReadUserAccess(this.jwtAuthorizer.role);

    // TTL deletions of still-active token items: release their limit slots, audit `token.expired`.
    this.expiryLedger = new ExpiryLedger(this, 'ExpiryLedger', {
      table: this.table.table,
      policy: config.policy,
      logRetention,
      // Several Regions: TTL may run in another Region's replica (a replicated REMOVE).
      ...(regions === undefined ? {} : { replicated: true }),
    });
    new CfnOutput(this, 'ExpiryLedgerDeadLetterQueueUrl', {
      description: 'Expired tokens whose limit slot was not released (stream records past their retries)',
      value: this.expiryLedger.deadLetterQueue.queueUrl,
    });

    const cloudWatchRole =
      this.apiGatewayCloudWatchRole === undefined ? {} : { cloudWatchRole: this.apiGatewayCloudWatchRole };
    // API names carry the stack name: the 5XX alarms find their API's metrics by name (ApiName), and
    // two deployments in one account and Region must not share them.
    this.managementApi = new ManagementApi(this, 'ManagementApi', {
      restApiName: `${this.stackName}-management`,
      routes: MANAGEMENT_ROUTES.map((route) => ({
        route,
        handler: this.managementFunctions.functionOf(route.name).function,
      })),
      jwtAuthorizerFunction: this.jwtAuthorizer.function,
      throttle: config.managementThrottle,
      ...cloudWatchRole,
      logRetention,
    });

    // Next to the dead-letter queue alarms (Notifications, ExpiryLedger): the request path.
    this.alarms = new ServiceAlarms(this, 'Alarms', {
      tokenAuthorizerFunction: this.tokenAuthorizer.function,
      apis: {
        ManagementApi: this.managementApi.api,
        ...(this.demoApi === undefined ? {} : { DemoApi: this.demoApi.api }),
      },
    });

    if (this.console !== undefined) {
      const consoleAuth = this.identity.consoleAuth;
      if (consoleAuth === undefined) throw new Error('the identity has no console sign-in');
      for (const origin of this.identity.consoleConnectOrigins) this.console.allowConnectTo(origin);
      // Same origin: the console calls the management API through its own distribution (no CORS).
      const apiUrl = this.console.serveApi(this.managementApi.api, this.managementApi.stageName);
      this.console.publish({ apiUrl, auth: consoleAuth });
      new CfnOutput(this, 'ConsoleUrl', {
        description: 'The web console (sign in, create, rotate and revoke tokens)',
        value: this.console.url,
      });
    }

    new CfnOutput(this, 'ManagementApiUrl', {
      description: 'Base URL of the management API',
      value: this.managementApi.url,
    });
    new CfnOutput(this, 'VerifyApiArn', {
      description:
        "POST /verify for services outside API Gateway: allow execute-api:Invoke on this ARN in the calling service's IAM policy (docs/verify.md)",
      value: this.managementApi.arnForRoute(routeNamed('verifyToken')),
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

  /**
   * The Cognito prefix domain of the managed login: unique per Region across all accounts, so the
   * stack name and the account id (`accesstokens-123456789012`).
   */
  private managedLoginDomainPrefix(): string {
    const name = this.stackName
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .slice(0, 40);
    return `${name}-${Aws.ACCOUNT_ID}`;
  }

  /**
   * Emails come from the table's stream, never from the request path. Without a sender there are
   * none: no notifier, no reminder job, no SES identity, no permission to send. Not deployed-but-
   * disabled functions: those would need a sender to grant ses:SendEmail for, and would start
   * mailing out whatever the stream still held the day someone enabled them.
   */
  private addNotifications(
    config: DeploymentConfig,
    logRetention: logs.RetentionDays,
  ): Notifications | undefined {
    if (config.senderAddress === undefined) {
      const message =
        'Emails are OFF: no senderAddress is configured, so the stack has no notifier, no reminder job and no SES identity. Deploy with -c senderAddress=tokens@yourdomain.com (an address or domain you can verify in SES) to turn them on (README "Emails").';
      Annotations.of(this).addWarningV2(EMAILS_OFF_WARNING_ID, message);
      new CfnOutput(this, 'EmailNotifications', {
        description: 'Whether token emails are sent',
        value: 'off: no senderAddress configured (deploy with -c senderAddress=tokens@yourdomain.com)',
      });
      return undefined;
    }
    const notifications = new Notifications(this, 'Notifications', {
      table: this.table.table,
      ...(config.indexUpgradeStep === undefined ? {} : { indexUpgradeStep: config.indexUpgradeStep }),
      senderAddress: config.senderAddress,
      ...(config.sesIdentity === undefined ? {} : { sesIdentity: config.sesIdentity }),
      sesIdentityExists: config.sesIdentityExists,
      reminderWindowDays: config.reminderWindowDays,
      logRetention,
    });
    new CfnOutput(this, 'EmailNotifications', {
      description: 'Whether token emails are sent',
      value: `on: from ${config.senderAddress} through the SES identity ${config.sesIdentity ?? config.senderAddress}`,
    });
    new CfnOutput(this, 'NotificationDeadLetterQueueUrl', {
      description: 'Failed notification emails (stream records past their retries)',
      value: notifications.deadLetterQueue.queueUrl,
    });
    // A domain identity the stack creates is verified by these records in the domain's DNS.
    notifications.dkimRecords.forEach((record, index) => {
      new CfnOutput(this, `SesDkimRecord${index + 1}`, {
        description: `DKIM record ${index + 1} of 3 to publish in the DNS of ${config.sesIdentity}: SES verifies the domain by them`,
        value: Fn.join(' ', [record.name, 'CNAME', record.value]),
      });
    });
    return notifications;
  }
}
