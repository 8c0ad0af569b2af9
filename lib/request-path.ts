import type { Stack } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { DeploymentConfig } from './config.js';
import { type DemoApi, deployDemoApi } from './constructs/demo-api.js';
import type { DecryptHmacKey } from './constructs/hmac-key.js';
import { ApiGatewayCloudWatchRole } from './constructs/rest-api.js';
import { TokenAuthorizerFunction } from './constructs/token-authorizer-function.js';
import type { VerifyTable } from './constructs/token-table.js';
import { declareTokenAuthorizerUsagePlans, type UsagePlans } from './constructs/usage-plans.js';

/** What every Region of a deployment answers requests with (the home stack and each edge stack). */
interface RequestPath {
  readonly tokenAuthorizer: TokenAuthorizerFunction;
  /** The Region's API Gateway logging role, when this deployment manages it (cdk.json `apiGatewayCloudWatchRole`). */
  readonly apiGatewayCloudWatchRole: ApiGatewayCloudWatchRole | undefined;
  /** cdk.json `demoApi`. */
  readonly demoApi: DemoApi | undefined;
}

/**
 * A Region's request path, the same in the home stack and in an edge stack (docs/regions.md): the
 * token authorizer on that Region's table (or replica) and HMAC key (or replica key), the Region's
 * API Gateway logging role and the demo API behind the authorizer. The ids (`TokenAuthorizer`,
 * `ApiGatewayCloudWatchRole`, `DemoFunction`, `DemoApi`) sit in the stack itself, as they always
 * have: test/infra/logical-ids.test.ts holds their logical ids.
 */
export function deployRequestPath(
  stack: Stack,
  config: DeploymentConfig,
  props: {
    readonly table: VerifyTable;
    readonly hmacKey: DecryptHmacKey;
    /** The home Region's usage plans (docs/rate-limits.md), declared before any API attaches the authorizer; none at the edge. */
    readonly usagePlans?: UsagePlans;
    readonly logRetention: logs.RetentionDays;
  },
): RequestPath {
  const tokenAuthorizer = new TokenAuthorizerFunction(stack, 'TokenAuthorizer', {
    table: props.table,
    hmacKey: props.hmacKey,
    policy: config.policy,
    invokerAccounts: config.authorizerInvokerAccounts,
    logRetention: props.logRetention,
  });
  if (props.usagePlans !== undefined)
    declareTokenAuthorizerUsagePlans(tokenAuthorizer.function, props.usagePlans);
  const apiGatewayCloudWatchRole = ApiGatewayCloudWatchRole.ifManaged(stack, config.apiGatewayCloudWatchRole);
  const demoApi = deployDemoApi(stack, config, {
    tokenAuthorizerFunction: tokenAuthorizer.function,
    cloudWatchRole: apiGatewayCloudWatchRole,
    logRetention: props.logRetention,
  });
  return { tokenAuthorizer, apiGatewayCloudWatchRole, demoApi };
}
