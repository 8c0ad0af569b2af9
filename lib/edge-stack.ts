import { Annotations, Aspects, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { gatewayCacheTtlSeconds } from '../lambdas/core/settings.js';
import { AccessTokensStack } from './access-tokens-stack.js';
import type { DeploymentConfig } from './config.js';
import type { DemoApi } from './constructs/demo-api.js';
import { HmacReplicaKey } from './constructs/hmac-key.js';
import type { ApiGatewayCloudWatchRole } from './constructs/rest-api.js';
import { ServiceAlarms } from './constructs/service-alarms.js';
import type { TokenAuthorizerFunction } from './constructs/token-authorizer-function.js';
import { TokenTableReplica } from './constructs/token-table.js';
import { edgeStackNameOf, globalTableNameOf, regionsOf } from './regions.js';
import { deployRequestPath } from './request-path.js';
import { LambdaEnvironmentLimit, LogGroupsRetainedExceptOnCreate, logRetentionOf } from './stack-policies.js';

// Several Regions (README "Several Regions", docs/regions.md): the home stack (AccessTokensStack)
// keeps every write and owns the global table and the multi-Region primary key; each other Region
// gets an EdgeStack: the token authorizer on that Region's replica, the demo API, the alarms.

/** What an edge stack takes from the home stack (cross-Region references, see bin/app.ts). */
interface EdgeStackHome {
  /** The home stack's name: the global table's name derives from it. */
  readonly stackName: string;
  /** The multi-Region primary key's ARN (home Region). */
  readonly hmacPrimaryKeyArn: string;
  /** The HMAC key's ciphertext (made at home under the primary key). */
  readonly hmacCiphertext: string;
  readonly hmacKeyVersion: string;
}

interface EdgeStackProps extends StackProps {
  readonly config: DeploymentConfig;
  readonly home: EdgeStackHome;
}

/**
 * An edge Region of a multi-Region deployment: the token authorizer reading the Region's replica of
 * the global table (GetItem of credential items, UpdateItem of lastUsedAt and of the HTTP APIs'
 * strict-mode counters; no management write, those run at home), the HMAC key through the Region's
 * replica of the multi-Region key (decrypt for this authorizer only), the demo API and the
 * request-path alarms. Nothing here consumes the replica's stream: emails and the expiry ledger run
 * at home only, once per event.
 */
export class EdgeStack extends Stack {
  public readonly table: TokenTableReplica;
  public readonly hmacKey: HmacReplicaKey;
  public readonly tokenAuthorizer: TokenAuthorizerFunction;
  public readonly demoApi: DemoApi | undefined;
  public readonly apiGatewayCloudWatchRole: ApiGatewayCloudWatchRole | undefined;
  public readonly alarms: ServiceAlarms;

  constructor(scope: Construct, id: string, props: EdgeStackProps) {
    super(scope, id, props);
    const { config, home } = props;
    const logRetention = logRetentionOf(config.logRetentionDays);
    Aspects.of(this).add(new LogGroupsRetainedExceptOnCreate());
    Aspects.of(this).add(new LambdaEnvironmentLimit());
    Annotations.of(this).acknowledgeWarning(
      '@aws-cdk/core:crossStackReferencesDefaultStrong',
      'Strong is what this stack needs: the home stack must not change or drop the key ARN or the HMAC key ciphertext while this Region still reads them.',
    );

    this.table = new TokenTableReplica(this, 'TokenTable', { tableName: globalTableNameOf(home.stackName) });
    this.hmacKey = new HmacReplicaKey(this, 'HmacKey', {
      primaryKeyArn: home.hmacPrimaryKeyArn,
      ciphertext: home.hmacCiphertext,
      version: home.hmacKeyVersion,
    });
    // No usage plans on its APIs: API keys and usage plans are Regional, and the usage-key consumer
    // runs at home (README "Several Regions", limits).
    ({
      tokenAuthorizer: this.tokenAuthorizer,
      apiGatewayCloudWatchRole: this.apiGatewayCloudWatchRole,
      demoApi: this.demoApi,
    } = deployRequestPath(this, config, { table: this.table, hmacKey: this.hmacKey, logRetention }));
    this.alarms = new ServiceAlarms(this, 'Alarms', {
      tokenAuthorizerFunction: this.tokenAuthorizer.function,
      apis: this.demoApi === undefined ? {} : { DemoApi: this.demoApi.api },
    });

    new CfnOutput(this, 'Region', { description: 'This edge stack’s Region', value: this.region });
    new CfnOutput(this, 'TokenAuthorizerFunctionArn', {
      description:
        "This Region's token authorizer: attach it to this Region's APIs with the TokenAuthorizer construct (functionArnsByRegion)",
      value: this.tokenAuthorizer.function.functionArn,
    });
    new CfnOutput(this, 'TokenAuthorizerCacheTtlSeconds', {
      description:
        "The longest API Gateway result cache TTL the revocation window allows (replication lag comes on top, README 'Several Regions')",
      value: String(gatewayCacheTtlSeconds(config.policy)),
    });
    new CfnOutput(this, 'GlobalTableReplicaName', {
      description: "The global table's replica this Region's authorizer reads",
      value: this.table.table.tableName,
    });
    if (this.demoApi !== undefined) {
      new CfnOutput(this, 'DemoApiUrl', {
        description: 'Base URL of this Region’s demo API (try GET <url>demo/content with a token)',
        value: this.demoApi.url,
      });
    }
  }
}

export interface Deployment {
  readonly home: AccessTokensStack;
  /** One per edge Region, in the order of `regions`; empty in one Region. */
  readonly edges: readonly EdgeStack[];
}

/**
 * The stacks of a deployment (bin/app.ts): in one Region the environment-agnostic stack as it has
 * always been; with `regions`, the home stack in the first and an edge stack in each other, in the
 * account of `account` (the CLI's CDK_DEFAULT_ACCOUNT; unresolved until deploy when absent, so
 * synth stays offline). The edge stacks take the primary key's ARN and the HMAC key's ciphertext
 * from the home stack through `crossRegionReferences` (CDK writes them to SSM parameters in each
 * edge Region at the home stack's deploy and reads them there): no manual step, no value copied
 * by hand, and CloudFormation keeps the home stack from changing a value an edge stack still uses.
 * The table needs no reference: every replica has the home stack's explicit table name.
 */
export function addDeployment(
  scope: Construct,
  id: string,
  config: DeploymentConfig,
  options: { readonly account?: string | undefined; readonly description?: string } = {},
): Deployment {
  const description = options.description === undefined ? {} : { description: options.description };
  const account = options.account === undefined ? {} : { account: options.account };
  const [onlyRegion] = config.regions ?? [];
  const regions = regionsOf(config);
  if (regions === undefined) {
    const home = new AccessTokensStack(scope, id, {
      config,
      ...description,
      ...(onlyRegion === undefined ? {} : { env: { ...account, region: onlyRegion } }),
    });
    return { home, edges: [] };
  }
  const home = new AccessTokensStack(scope, id, {
    config,
    ...description,
    env: { ...account, region: regions.home },
    crossRegionReferences: true,
  });
  const edges = regions.edges.map(
    (region) =>
      new EdgeStack(scope, edgeStackNameOf(home.stackName, region), {
        config,
        env: { ...account, region },
        crossRegionReferences: true,
        description: `Access Tokens: edge Region ${region} of ${home.stackName} (token authorizer on the global table's replica)`,
        home: {
          stackName: home.stackName,
          hmacPrimaryKeyArn: home.hmacKey.key.keyArn,
          hmacCiphertext: home.hmacKey.ciphertext,
          hmacKeyVersion: home.hmacKey.version,
        },
      }),
  );
  return { home, edges };
}
