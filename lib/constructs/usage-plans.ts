import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { QuotaPeriod } from '../../lambdas/core/rate-limits.js';
import { type PolicySettings, typeLimitsOf } from '../../lambdas/core/settings.js';
import { ENV } from '../../lambdas/runtime/env.js';
import { USAGE_KEYS_FILTER_PATTERN } from '../../lambdas/usage-keys/filter.js';
import { FUNCTION_ENTRIES } from '../function-entries.js';
import { nagRegionOf } from '../nag-names.js';
import type { ServiceFunction } from './service-function.js';
import { TableStreamConsumer } from './table-stream-consumer.js';

// Per-token rate limits and quotas at the gateway (docs/rate-limits.md): one API Gateway usage
// plan per token type, the usage-key consumer on the table's stream that keeps one API key per
// token in its limit class's plan, and the IAM both it and the management functions that sync keys
// synchronously need. TokenAuthorizer (lib/token-authorizer.ts) puts the stages of the REST APIs it
// protects on the type plans; the consumer copies them onto the override plans it creates.

// The usage plans of token authorizer functions this app deploys (AccessTokensStack declares its
// own), so that a TokenAuthorizer given that function wires its REST APIs to them.
const DEPLOYED_USAGE_PLANS = new WeakMap<object, UsagePlans>();

/** Records the usage plans of the token authorizer function `fn`'s deployment. */
export function declareTokenAuthorizerUsagePlans(fn: object, plans: UsagePlans): void {
  DEPLOYED_USAGE_PLANS.set(fn, plans);
}

/** The usage plans declared for `fn`, if any. */
export function usagePlansOf(fn: object): UsagePlans | undefined {
  return DEPLOYED_USAGE_PLANS.get(fn);
}

/** What a function may do to API keys and usage plans. */
type UsagePlanAccess = 'read' | 'manage';

/** The IAM actions of API Gateway's management API, by HTTP method. */
const USAGE_PLAN_ACTIONS: Readonly<Record<UsagePlanAccess, readonly string[]>> = {
  // GetApiKeys, GetUsagePlans, GetUsage.
  read: ['apigateway:GET'],
  // + CreateApiKey, CreateUsagePlan, CreateUsagePlanKey (POST), DeleteApiKey, DeleteUsagePlanKey
  // (DELETE), UpdateUsagePlan (PATCH).
  manage: ['apigateway:GET', 'apigateway:POST', 'apigateway:DELETE', 'apigateway:PATCH'],
};

const WILDCARD_REASON =
  "API keys and usage plans have generated ids and no tag-based scoping for every action (GetApiKeys, GetUsagePlans and the create calls cannot be conditioned on tags), so the grant names API Gateway's /apikeys and /usageplans collections of this Region and no other API Gateway resource (no REST API, stage or account setting).";

/** The ARNs of API keys and usage plans of the stack's Region. */
function usagePlanResourceArns(stack: Stack): string[] {
  const base = `arn:${stack.partition}:apigateway:${stack.region}::`;
  return [`${base}/apikeys`, `${base}/apikeys/*`, `${base}/usageplans`, `${base}/usageplans/*`];
}

/** Lets `fn` read (GET /tokens/{id}: usage) or manage (sync keys) this Region's API keys and plans. */
export function grantUsagePlans(fn: ServiceFunction, access: UsagePlanAccess, planPrefix: string): void {
  const stack = Stack.of(fn);
  fn.role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [...USAGE_PLAN_ACTIONS[access]],
      resources: usagePlanResourceArns(stack),
    }),
  );
  fn.function.addEnvironment(ENV.usagePlanPrefix, planPrefix);
  for (const resource of ['apikeys/*', 'usageplans/*']) {
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:${nagRegionOf(stack)}::/${resource}]`,
      reason: WILDCARD_REASON,
    });
  }
}

const PERIODS: Readonly<Record<QuotaPeriod, apigateway.Period>> = {
  DAY: apigateway.Period.DAY,
  WEEK: apigateway.Period.WEEK,
  MONTH: apigateway.Period.MONTH,
};

interface UsagePlansProps {
  /** The service's table; its stream (NEW_AND_OLD_IMAGES) feeds the usage-key consumer. */
  readonly table: dynamodb.ITable;
  /** The policy in force: the token types' limits (one plan each) and POLICY_SETTINGS of the consumer. */
  readonly policy: PolicySettings;
  /** Names every plan of this deployment: `<planPrefix>-<limitClass>` (the stack's name). */
  readonly planPrefix: string;
  /** @default 10 */
  readonly batchSize?: number;
  /** @default 10 */
  readonly retryAttempts?: number;
  /** @default Duration.hours(6) */
  readonly maxRecordAge?: Duration;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** @default none: the dead-letter alarm shows in CloudWatch only */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
}

/**
 * One usage plan per token type (its rateLimit as the plan's throttle, its quota as the plan's
 * quota), named `<planPrefix>-type-<type>`, and the usage-key consumer: a Lambda on the table's
 * stream (token items only) that creates each token's API key (value `usage-<tokenId>`, never the
 * secret), puts it in its limit class's plan (creating an override class's plan on the type plans'
 * stages), moves it when the token's limits change and deletes it when the token is revoked or
 * deleted. Failed records are retried, then their metadata goes to the dead-letter queue and its
 * alarm fires (TableStreamConsumer).
 */
export class UsagePlans extends Construct {
  public readonly planPrefix: string;
  /** The plan of each token type, by type name. */
  public readonly typePlans: ReadonlyMap<string, apigateway.UsagePlan>;
  public readonly consumer: TableStreamConsumer;
  private readonly stages = new Set<apigateway.IStage>();

  constructor(scope: Construct, id: string, props: UsagePlansProps) {
    super(scope, id);
    this.planPrefix = props.planPrefix;
    const typePlans = new Map<string, apigateway.UsagePlan>();
    for (const [name, type] of Object.entries(props.policy.tokenTypes)) {
      const limits = typeLimitsOf(type);
      typePlans.set(
        name,
        new apigateway.UsagePlan(this, `Type${name.charAt(0).toUpperCase()}${name.slice(1)}`, {
          name: `${props.planPrefix}-type-${name}`,
          description: `Access Tokens: tokens of type ${name} (their usage keys; docs/rate-limits.md)`,
          throttle: { rateLimit: limits.rateLimit.requestsPerSecond, burstLimit: limits.rateLimit.burst },
          ...(limits.quota === null
            ? {}
            : { quota: { limit: limits.quota.limit, period: PERIODS[limits.quota.period] } }),
        }),
      );
    }
    this.typePlans = typePlans;

    this.consumer = new TableStreamConsumer(this, 'Consumer', {
      table: props.table,
      functionId: 'Function',
      function: {
        entry: FUNCTION_ENTRIES.usageKeys,
        description: "Access Tokens: keeps each token's API Gateway usage key in its limits' usage plan",
        // A record may wait out UpdateUsagePlan's 1 call per 20 s (stream-usage-keys.ts).
        timeout: Duration.minutes(5),
        environment: {
          [ENV.policySettings]: JSON.stringify(props.policy),
        },
        logRetention: props.logRetention,
      },
      filterPatterns: [USAGE_KEYS_FILTER_PATTERN],
      deadLetterQueueOwner: 'the usage-key consumer stream mapping on-failure destination',
      deadLetterAlarmDescription:
        "Tokens whose usage key was not created, moved or deleted after all retries (records in the usage-key consumer's dead-letter queue): such a token gets 503 TOKEN_NOT_READY, or keeps its old limits",
      batchSize: props.batchSize,
      retryAttempts: props.retryAttempts,
      maxRecordAge: props.maxRecordAge,
      alarmActions: props.alarmActions,
    });
    grantUsagePlans(this.consumer.function, 'manage', props.planPrefix);
  }

  /**
   * Puts `stage` on every type plan (the consumer copies the type plans' stages onto the override
   * plans it creates, and onto existing ones at its next plan lookup). The stage must be in this
   * stack: a plan that named a stage of another stack would make the two stacks depend on each
   * other (the API's stack already depends on this one for the authorizer).
   */
  public addStage(api: apigateway.IRestApi, stage: apigateway.Stage): void {
    if (this.stages.has(stage)) return;
    if (Stack.of(stage) !== Stack.of(this)) {
      throw new Error(
        `UsagePlans ${this.node.path}: the stage ${stage.node.path} is in another stack; add it to the type plans (${[...this.typePlans.values()].map((plan) => plan.node.path).join(', ')}) as docs/rate-limits.md describes ("APIs in another stack")`,
      );
    }
    this.stages.add(stage);
    for (const plan of this.typePlans.values()) plan.addApiStage({ api, stage });
  }
}
