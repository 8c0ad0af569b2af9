import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { RATE_COUNTER_ATTRIBUTES } from '../../lambdas/adapters/dynamo-rate-counters.js';
import {
  type IndexLayout,
  indexLayout,
  KEYS,
  projectionOf,
  RATE_COUNTER_PREFIX,
  TABLE_KEYS,
  TTL_ATTRIBUTE,
} from '../../lambdas/adapters/table-definition.js';
import { ENV } from '../../lambdas/runtime/env.js';
import type { ServiceFunction } from './service-function.js';

/** Read actions: strongly consistent item reads and queries (on the table and its indexes). */
export const TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query'] as const;
/**
 * Write actions, on the base table only. TransactWriteItems has no IAM action of its own: each item
 * of a transaction needs the action it performs (Put, Update, Delete, ConditionCheck).
 */
export const TABLE_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:ConditionCheckItem',
] as const;

/** Non-key attributes an index of AWS::DynamoDB::GlobalTable may project (its CloudFormation schema). */
const GLOBAL_TABLE_MAX_NON_KEY_ATTRIBUTES = 20;
/** Token items' partition keys start with this: `TOKEN#`, from the one key definition. */
const TOKEN_PARTITION_PREFIX = KEYS.token('').pk;
/** Credential items' partition keys start with this: `CREDENTIAL#`, from the one key definition. */
const CREDENTIAL_PARTITION_PREFIX = KEYS.credential('').pk;
/** The attributes the token authorizer's lastUsedAt update may name: the key and lastUsedAt. */
const LAST_USED_ATTRIBUTES = [TABLE_KEYS.partitionKey, TABLE_KEYS.sortKey, 'lastUsedAt'] as const;

interface TokenTableProps {
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN (tokens must outlive a mistaken `cdk destroy`)
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * A step of the index upgrade of a table deployed with the legacy, ALL-projected indexes (1 to
   * 6, one deploy each; lambdas/adapters/table-definition.ts, indexLayout).
   * @default undefined: the current indexes only (a new stack, or the upgrade done)
   */
  readonly indexUpgradeStep?: number;
  /**
   * Several Regions (README "Several Regions"): the other Regions' replicas of a global table
   * (`TableV2`) named `tableName`. Undefined or empty: the single-Region table (`Table`), exactly as
   * before: switching a deployed table between the two replaces it (docs/regions.md "Migration").
   * @default undefined
   */
  readonly replicaRegions?: readonly string[];
  /** The global table's name, which every replica shares (an edge stack finds its replica by it). Needs `replicaRegions`. */
  readonly tableName?: string;
}

/**
 * The one table (single-table design), built from lambdas/adapters/table-definition.ts so that the
 * deployed table and the local one cannot drift: on-demand, point-in-time recovery, deletion
 * protection, retained, stream NEW_AND_OLD_IMAGES (emails), TTL (expired tokens).
 */
export class TokenTable extends Construct implements VerifyTable {
  /** `Table` in one Region; `TableV2` (a global table, one replica per Region) in several. */
  public readonly table: dynamodb.Table | dynamodb.TableV2;
  /** The Regions of the global table's other replicas; empty in one Region. */
  public readonly replicaRegions: readonly string[];
  /** The table's GSIs, and whether the functions read the legacy or the current ones. */
  public readonly indexLayout: IndexLayout;

  constructor(scope: Construct, id: string, props: TokenTableProps = {}) {
    super(scope, id);

    this.replicaRegions = props.replicaRegions ?? [];
    const keys = {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
    };
    const pointInTimeRecoverySpecification = { pointInTimeRecoveryEnabled: true };
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    if (this.replicaRegions.length === 0) {
      if (props.tableName !== undefined) throw new Error('TokenTable: tableName is only for a global table');
      this.table = new dynamodb.Table(this, 'Table', {
        ...keys,
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification,
        deletionProtection: true,
        removalPolicy,
        stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        timeToLiveAttribute: TTL_ATTRIBUTE,
      });
    } else {
      // A global table (multi-Region eventual consistency: strong consistency would exclude TTL and
      // transactions). Every replica states its own PITR and deletion protection, and is encrypted
      // with the AWS managed key of its Region (aws/dynamodb): a customer managed key would need a
      // key ARN per replica Region at the creation of this stack, before the edge stacks exist. The
      // table holds HMACs of secrets, never a secret (docs/security.md).
      if (props.tableName === undefined) throw new Error('TokenTable: a global table needs its tableName');
      const home = Stack.of(this).region;
      if (this.replicaRegions.includes(home)) {
        throw new Error(`TokenTable: the home Region ${home} is not one of its replicaRegions`);
      }
      this.table = new dynamodb.TableV2(this, 'GlobalTable', {
        ...keys,
        tableName: props.tableName,
        billing: dynamodb.Billing.onDemand(),
        pointInTimeRecoverySpecification,
        deletionProtection: true,
        removalPolicy,
        dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        timeToLiveAttribute: TTL_ATTRIBUTE,
        encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
        replicas: this.replicaRegions.map((region) => ({
          region,
          pointInTimeRecoverySpecification,
          deletionProtection: true,
        })),
      });
    }
    this.indexLayout = indexLayout(props.indexUpgradeStep);
    for (const index of this.indexLayout.indexes) {
      const projection = this.projectionOf(index.projection);
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType[projection.ProjectionType],
        ...(projection.NonKeyAttributes === undefined
          ? {}
          : { nonKeyAttributes: projection.NonKeyAttributes }),
      });
    }
  }

  /**
   * An index's projection. The global table's resource (AWS::DynamoDB::GlobalTable) takes at most
   * 20 non-key attributes per index (its CloudFormation schema; the single-Region table deploys the
   * listing indexes' 24): such an index of a global table copies every attribute (ALL), a superset
   * of what its readers ask for, at the cost of larger index items (docs/performance.md).
   */
  private projectionOf(projection: Parameters<typeof projectionOf>[0]): ReturnType<typeof projectionOf> {
    const cloudFormation = projectionOf(projection);
    const tooMany = (cloudFormation.NonKeyAttributes?.length ?? 0) > GLOBAL_TABLE_MAX_NON_KEY_ATTRIBUTES;
    return this.replicaRegions.length > 0 && tooMany ? { ProjectionType: 'ALL' } : cloudFormation;
  }

  /** The table's name in the function's environment (TABLE_NAME), and {@link grantRead} to its role. */
  public bindRead(fn: ServiceFunction): void {
    this.bindName(fn);
    this.grantRead(fn.role);
  }

  /** The table's name in the function's environment, and {@link grantReadWrite} to its role. */
  public bindReadWrite(fn: ServiceFunction): void {
    this.bindName(fn);
    this.grantReadWrite(fn.role);
  }

  /**
   * The token authorizer's access: the table's name in its environment, {@link grantVerify} and
   * {@link grantRecordLastUsed} to its role, and nothing else.
   */
  public bindVerify(fn: ServiceFunction): void {
    this.bindName(fn);
    this.grantVerify(fn.role);
    this.grantRecordLastUsed(fn.role);
    this.grantCountRates(fn.role);
  }

  private bindName(fn: ServiceFunction): void {
    fn.function.addEnvironment(ENV.tableName, this.table.tableName);
    // During the first upgrade steps the new indexes are still being filled: read the legacy ones.
    if (this.indexLayout.reads === 'legacy') fn.function.addEnvironment(ENV.tableIndexes, 'legacy');
  }

  /** ARNs of the table's indexes, each named (no wildcard). */
  public get indexArns(): string[] {
    return this.indexLayout.indexes.map((index) => `${this.table.tableArn}/index/${index.indexName}`);
  }

  /** GetItem and Query on the table and its indexes. */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...TABLE_READ_ACTIONS],
      resourceArns: [this.table.tableArn, ...this.indexArns],
    });
  }

  /** Reads as {@link grantRead}, plus item writes (and transactions of them) on the table. */
  public grantReadWrite(grantee: iam.IGrantable): iam.Grant {
    const read = this.grantRead(grantee);
    const write = iam.Grant.addToPrincipal({
      grantee,
      actions: [...TABLE_WRITE_ACTIONS],
      resourceArns: [this.table.tableArn],
    });
    return read.combine(write);
  }

  /**
   * The token authorizer's one read: a strongly consistent GetItem on the base table, of credential
   * items only (leading key `CREDENTIAL#`): a compromised authorizer cannot read token records (owner
   * email addresses), audit events, limit counters or access items.
   */
  public grantVerify(grantee: iam.IGrantable): iam.Grant {
    return grantVerifyOn(grantee, this.table.tableArn);
  }

  /**
   * The JWT authorizer's one read: a strongly consistent GetItem of a user's access item (leading
   * key `ACCESS#`), whether an admin switched the user's access off (lambdas/jwt-authorizer).
   */
  public grantReadUserAccess(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem'],
      resourceArns: [this.table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ACCESS#*'] } },
    });
  }

  /**
   * The token authorizer's one write: UpdateItem of `lastUsedAt` on token items, and nothing else.
   * The conditions are what keep a compromised authorizer from rewriting a token's scopes, state or
   * expiry (every attribute the request names, in its key, update and condition expressions, must
   * be one of these), from touching credential or limit items (leading key `TOKEN#`), and from
   * reading items back through ReturnValues.
   */
  public grantRecordLastUsed(grantee: iam.IGrantable): iam.Grant {
    return grantRecordLastUsedOn(grantee, this.table.tableArn);
  }

  /**
   * The token authorizer's strict-mode counters (HTTP APIs, lambdas/adapters/dynamo-rate-counters.ts):
   * UpdateItem of `RATE#` items only, naming only their key, count, entity and ttl, and reading back
   * only what the update changed (the count). A compromised authorizer can inflate or reset a
   * token's counters, nothing else.
   */
  public grantCountRates(grantee: iam.IGrantable): iam.Grant {
    return grantCountRatesOn(grantee, this.table.tableArn);
  }
}

/** What the token authorizer function needs of a table (the home table, or an edge Region's replica). */
export interface VerifyTable {
  bindVerify(fn: ServiceFunction): void;
}

/**
 * An edge Region's replica of the global table (README "Several Regions"), found by the table's
 * name in this stack's Region: the edge token authorizer reads it and writes only what the home
 * table's authorizer may write ({@link TokenTable.bindVerify}).
 */
export class TokenTableReplica extends Construct implements VerifyTable {
  public readonly table: dynamodb.ITableV2;

  constructor(scope: Construct, id: string, props: { readonly tableName: string }) {
    super(scope, id);
    // The ARN is this stack's Region and account with the shared name: the local replica.
    this.table = dynamodb.TableV2.fromTableName(this, 'Replica', props.tableName);
  }

  public bindVerify(fn: ServiceFunction): void {
    fn.function.addEnvironment(ENV.tableName, this.table.tableName);
    grantVerifyOn(fn.role, this.table.tableArn);
    grantRecordLastUsedOn(fn.role, this.table.tableArn);
    grantCountRatesOn(fn.role, this.table.tableArn);
  }
}

/**
 * The token authorizer's one read: a strongly consistent GetItem on the base table, of credential
 * items only (leading key `CREDENTIAL#`).
 */
function grantVerifyOn(grantee: iam.IGrantable, tableArn: string): iam.Grant {
  return iam.Grant.addToPrincipal({
    grantee,
    actions: ['dynamodb:GetItem'],
    resourceArns: [tableArn],
    conditions: {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${CREDENTIAL_PARTITION_PREFIX}*`] },
    },
  });
}

/** UpdateItem of token items' `lastUsedAt` only ({@link TokenTable.grantRecordLastUsed}). */
function grantRecordLastUsedOn(grantee: iam.IGrantable, tableArn: string): iam.Grant {
  return iam.Grant.addToPrincipal({
    grantee,
    actions: ['dynamodb:UpdateItem'],
    resourceArns: [tableArn],
    conditions: {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${TOKEN_PARTITION_PREFIX}*`] },
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...LAST_USED_ATTRIBUTES] },
      StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
    },
  });
}

/** UpdateItem of `RATE#` counter items only ({@link TokenTable.grantCountRates}). */
function grantCountRatesOn(grantee: iam.IGrantable, tableArn: string): iam.Grant {
  return iam.Grant.addToPrincipal({
    grantee,
    actions: ['dynamodb:UpdateItem'],
    resourceArns: [tableArn],
    conditions: {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${RATE_COUNTER_PREFIX}*`] },
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...RATE_COUNTER_ATTRIBUTES] },
      StringEquals: { 'dynamodb:ReturnValues': 'UPDATED_NEW' },
    },
  });
}
