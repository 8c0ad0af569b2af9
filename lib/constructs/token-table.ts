import { RemovalPolicy } from 'aws-cdk-lib';
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
}

/**
 * The one table (single-table design), built from lambdas/adapters/table-definition.ts so that the
 * deployed table and the local one cannot drift: on-demand, point-in-time recovery, deletion
 * protection, retained, stream NEW_AND_OLD_IMAGES (emails), TTL (expired tokens).
 */
export class TokenTable extends Construct {
  public readonly table: dynamodb.Table;
  /** The table's GSIs, and whether the functions read the legacy or the current ones. */
  public readonly indexLayout: IndexLayout;

  constructor(scope: Construct, id: string, props: TokenTableProps = {}) {
    super(scope, id);

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      timeToLiveAttribute: TTL_ATTRIBUTE,
    });
    this.indexLayout = indexLayout(props.indexUpgradeStep);
    for (const index of this.indexLayout.indexes) {
      const projection = projectionOf(index.projection);
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
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem'],
      resourceArns: [this.table.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${CREDENTIAL_PARTITION_PREFIX}*`] },
      },
    });
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
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:UpdateItem'],
      resourceArns: [this.table.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${TOKEN_PARTITION_PREFIX}*`] },
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...LAST_USED_ATTRIBUTES] },
        StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
      },
    });
  }

  /**
   * The token authorizer's strict-mode counters (HTTP APIs, lambdas/adapters/dynamo-rate-counters.ts):
   * UpdateItem of `RATE#` items only, naming only their key, count, entity and ttl, and reading back
   * only what the update changed (the count). A compromised authorizer can inflate or reset a
   * token's counters, nothing else.
   */
  public grantCountRates(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:UpdateItem'],
      resourceArns: [this.table.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${RATE_COUNTER_PREFIX}*`] },
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...RATE_COUNTER_ATTRIBUTES] },
        StringEquals: { 'dynamodb:ReturnValues': 'UPDATED_NEW' },
      },
    });
  }
}
