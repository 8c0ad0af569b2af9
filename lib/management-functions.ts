import { Duration } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { PolicySettings } from '../lambdas/core/settings.js';
import { ENV } from '../lambdas/runtime/env.js';
import type { HmacKey } from './constructs/hmac-key.js';
import { ServiceFunction } from './constructs/service-function.js';
import type { TokenTable } from './constructs/token-table.js';
import { grantUsagePlans } from './constructs/usage-plans.js';
import type { DeployedRoute } from './function-entries.js';

interface ManagementFunctionsProps {
  /** The route table with each route's deployment (lib/function-entries.ts): one function per route. */
  readonly routes: readonly DeployedRoute[];
  readonly table: TokenTable;
  readonly hmacKey: HmacKey;
  /** Handed to every function as POLICY_SETTINGS. */
  readonly policy: PolicySettings;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** The deployment's usage plan name prefix, for routes with `usagePlans` permissions. */
  readonly usagePlanPrefix: string;
}

/**
 * One function per management route, each with a role that allows what its route's `permissions`
 * say and nothing more: `read` routes GetItem/Query, `readWrite` routes also item writes, `verify`
 * the token authorizer's GetItem of credentials and lastUsedAt update, `hmacKey`
 * routes kms:Decrypt of the HMAC key under its encryption context, `cursorKey` routes the same of
 * the cursor key, `usagePlans` routes API Gateway's API keys and usage plans (lib/constructs/usage-plans.ts).
 */
export class ManagementFunctions extends Construct {
  /** The function of each route, by route name. */
  public readonly byRoute: ReadonlyMap<string, ServiceFunction>;

  constructor(scope: Construct, id: string, props: ManagementFunctionsProps) {
    super(scope, id);
    const policySettings = JSON.stringify(props.policy);
    const byRoute = new Map<string, ServiceFunction>();
    for (const route of props.routes) {
      const fn = new ServiceFunction(this, constructIdOf(route.name), {
        entry: route.entry,
        description: `Access Tokens: ${route.method} ${route.path} (${route.name})`,
        environment: { [ENV.policySettings]: policySettings },
        ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
        ...(route.timeoutSeconds === undefined ? {} : { timeout: Duration.seconds(route.timeoutSeconds) }),
      });
      switch (route.permissions.table) {
        case 'read':
          props.table.bindRead(fn);
          break;
        case 'readWrite':
          props.table.bindReadWrite(fn);
          break;
        case 'verify':
          // The token authorizer's grants, not its bindVerify: that one also counts strict-mode
          // rates, which the verify API does not do. The table's name is all it reads of the env.
          fn.function.addEnvironment(ENV.tableName, props.table.table.tableName);
          props.table.grantVerify(fn.role);
          props.table.grantRecordLastUsed(fn.role);
          break;
        case 'none':
          break;
      }
      if (route.permissions.hmacKey) props.hmacKey.bindDecrypt(fn);
      if (route.permissions.cursorKey === true) props.hmacKey.bindDecryptCursorKey(fn);
      const usagePlans = 'usagePlans' in route.permissions ? route.permissions.usagePlans : undefined;
      if (usagePlans !== undefined) grantUsagePlans(fn, usagePlans, props.usagePlanPrefix);
      byRoute.set(route.name, fn);
    }
    this.byRoute = byRoute;
  }

  public functionOf(routeName: string): ServiceFunction {
    const fn = this.byRoute.get(routeName);
    if (fn === undefined) throw new Error(`no function for route ${routeName}`);
    return fn;
  }
}

/** `createToken` -> `CreateToken`. */
function constructIdOf(routeName: string): string {
  return `${routeName.charAt(0).toUpperCase()}${routeName.slice(1)}`;
}
