import { type IAspect, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { ENV } from '../lambdas/runtime/env.js';
import type { LogRetentionDays } from './config.js';

// Rules that hold for every resource of a kind in the stack, whoever built it (our constructs, the
// HMAC key's provider framework, aws-cdk-lib internals): applied as aspects, checked at synth.

/**
 * Every log group: kept when it leaves the stack (`cdk destroy`, a rename), so that logs outlive
 * the resources they are about, but deleted by the rollback of the deploy that created it. Plain
 * RETAIN would leave a failed first deploy's log groups behind as orphans, and the retry would then
 * fail on the names that are fixed (`API-Gateway-Execution-Logs_...`).
 */
export class LogGroupsRetainedExceptOnCreate implements IAspect {
  public visit(node: IConstruct): void {
    if (node instanceof logs.CfnLogGroup) node.applyRemovalPolicy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);
  }
}

/**
 * Lambda's quota: all environment variables of a function together, 4 KB ("Lambda quotas",
 * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). Lambda measures the JSON
 * of the variables, names included: a deploy over it fails with "Lambda was unable to configure
 * your environment variables because the environment variables you have provided exceeded the 4KB
 * limit. String measured: {...}".
 */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

/**
 * What a value only CloudFormation knows counts for: the values this stack passes are a table name
 * (at most 255 characters), the HMAC key's ciphertext (about 250 characters of base64) and Cognito
 * ids (under 60), so 512 bytes bounds each with room to spare.
 */
export const UNRESOLVED_VALUE_BYTES = 512;

interface EnvironmentSize {
  /** Bytes of the variables' JSON, as Lambda measures it (unresolved values at their bound). */
  readonly bytes: number;
  /** Each variable's share (name, value, quotes), largest first. */
  readonly variables: ReadonlyArray<{ readonly name: string; readonly bytes: number }>;
}

/** The size of a function's environment, as Lambda measures it, from the synthesized values. */
export function environmentSizeOf(fn: lambda.CfnFunction): EnvironmentSize {
  const resolved: unknown = Stack.of(fn).resolve(fn.environment);
  const variables: unknown =
    typeof resolved === 'object' && resolved !== null ? Reflect.get(resolved, 'variables') : undefined;
  const measured: Record<string, string> = {};
  if (typeof variables === 'object' && variables !== null) {
    for (const [name, value] of Object.entries(variables)) {
      measured[name] = typeof value === 'string' ? value : 'x'.repeat(UNRESOLVED_VALUE_BYTES);
    }
  }
  const entries = Object.entries(measured);
  return {
    bytes: entries.length === 0 ? 0 : Buffer.byteLength(JSON.stringify(measured)),
    variables: entries
      .map(([name, value]) => ({ name, bytes: Buffer.byteLength(JSON.stringify({ [name]: value })) - 2 }))
      .sort((a, b) => b.bytes - a.bytes),
  };
}

/**
 * Fails the synth, naming the function and its largest variables, when any Lambda function's
 * environment would exceed {@link LAMBDA_ENVIRONMENT_LIMIT_BYTES}. POLICY_SETTINGS grows with the
 * scope catalogue and the token types, so cdk.json alone can get there.
 */
export class LambdaEnvironmentLimit implements IAspect {
  public visit(node: IConstruct): void {
    if (!(node instanceof lambda.CfnFunction)) return;
    node.node.addValidation({
      validate: () => {
        const size = environmentSizeOf(node);
        if (size.bytes <= LAMBDA_ENVIRONMENT_LIMIT_BYTES) return [];
        const largest = size.variables
          .slice(0, 3)
          .map((variable) => `${variable.name} (${variable.bytes} bytes)`)
          .join(', ');
        const hint = size.variables.some((variable) => variable.name === ENV.policySettings)
          ? ` ${ENV.policySettings} is the token policy from cdk.json: shorten the scope catalogue (scopeAreas) or the token types (tokenTypes descriptions, allowedScopes).`
          : '';
        return [
          `The environment variables of this Lambda function take ${size.bytes} bytes, over Lambda's limit of ${LAMBDA_ENVIRONMENT_LIMIT_BYTES} bytes for all of them together (a deploy would fail). Largest: ${largest}.${hint}`,
        ];
      },
    });
  }
}

/** cdk.json's `logRetentionDays` as CloudWatch Logs' retention (config.ts accepts only the days it offers). */
export function logRetentionOf(days: LogRetentionDays): logs.RetentionDays {
  const retention = Object.values(logs.RetentionDays).find((value) => value === days);
  if (typeof retention !== 'number') throw new Error(`CloudWatch Logs has no retention of ${days} days`);
  return retention;
}
