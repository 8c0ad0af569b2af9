import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { KEYS, PARTITIONS } from '../../lambdas/adapters/table-definition.js';
import type { PolicySettings } from '../../lambdas/core/settings.js';
import {
  EXPIRY_LEDGER_FILTER_PATTERN,
  EXPIRY_LEDGER_REPLICATED_FILTER_PATTERN,
} from '../../lambdas/expiry-ledger/filter.js';
import { ENV } from '../../lambdas/runtime/env.js';
import { FUNCTION_ENTRIES } from '../function-entries.js';
import type { ServiceFunction } from './service-function.js';
import { TableStreamConsumer } from './table-stream-consumer.js';

/** A stand-in id that no key prefix contains. */
const ID = '{id}';

/**
 * The partition-key prefixes of the items the ledger writes: a token's slot, the user's and the
 * account's active-token counters, and the token's audit partition. Derived from the key builders
 * so that a change of key layout changes the grant with it.
 */
export const EXPIRY_LEDGER_LEADING_KEYS = [
  KEYS.slot(ID, ID, ID).pk,
  KEYS.userLimit(ID, ID).pk,
  KEYS.accountLimit(ID).pk,
  PARTITIONS.auditOfToken(ID),
].map((key) => `${prefixOf(key)}*`);

/**
 * What the ledger does to the table: releaseSlotOfDeletedToken is one TransactWriteItems (no IAM
 * action of its own: each item needs the action it performs) that deletes the slot (conditional on
 * it existing), updates both counters and puts the audit event (conditional on it not existing).
 * It reads nothing, so no GetItem, and checks no other item, so no ConditionCheckItem.
 */
const EXPIRY_LEDGER_TABLE_ACTIONS = [
  'dynamodb:DeleteItem',
  'dynamodb:UpdateItem',
  'dynamodb:PutItem',
] as const;

export interface ExpiryLedgerProps {
  /** The service's table; its stream (NEW_AND_OLD_IMAGES) carries the TTL deletions. */
  readonly table: dynamodb.ITable;
  /** The policy in force: the handler reads auditRetentionDays from it (POLICY_SETTINGS). */
  readonly policy: PolicySettings;
  /** @default 10 */
  readonly batchSize?: number;
  /**
   * Times Lambda retries a failed record (after bisecting the batch) before its metadata goes to
   * the dead-letter queue.
   * @default 10
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this go to the dead-letter queue instead of being retried (the stream keeps
   * records for 24 hours).
   * @default Duration.hours(6)
   */
  readonly maxRecordAge?: Duration;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The table is a global table (README "Several Regions"): TTL deletions made in other Regions
   * arrive as replicated REMOVEs, without the TTL service's identity, and must reach the ledger.
   * @default false
   */
  readonly replicated?: boolean;
  /**
   * Actions of the dead-letter queue alarm (e.g. an SNS topic).
   * @default none: the alarm shows in CloudWatch only
   */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
}

/**
 * The expiry ledger: a Lambda on the table's stream that, when DynamoDB's TTL deletes a token item
 * that was still active, releases its limit slot (both active-token counters down by one) and
 * records `token.expired`, each exactly once (conditional transaction, deterministic event id).
 *
 * Filter criteria keep every other record (user deletes, inserts, updates, non-token items) from
 * invoking it. It starts at TRIM_HORIZON, so a (re)created mapping catches up on what the stream
 * still holds; releases already done are no-ops. A failed record is retried (bisecting) up to
 * `retryAttempts` or `maxRecordAge`; then the failed records' metadata (shard and sequence numbers)
 * goes to an encrypted, SSL-only dead-letter queue, and its alarm fires: until someone acts, the
 * slot stays taken (the create path's expiry sweep releases it when the owner next hits a limit).
 */
export class ExpiryLedger extends Construct {
  /** The ledger on the table's stream, with its mapping, dead-letter queue and alarm. */
  public readonly consumer: TableStreamConsumer;
  public readonly ledger: ServiceFunction;
  public readonly eventSource: DynamoEventSource;
  /** The stream's on-failure destination: metadata of records that exhausted their retries. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Anything in the dead-letter queue is a slot that was not released (and an expiry not audited). */
  public readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ExpiryLedgerProps) {
    super(scope, id);
    const { table } = props;

    // `Default`: the consumer's function, queue and alarm keep the logical ids they were deployed with.
    this.consumer = new TableStreamConsumer(this, 'Default', {
      table,
      functionId: 'Ledger',
      function: {
        entry: FUNCTION_ENTRIES.expiryLedger,
        description:
          'Access Tokens: releases the limit slots of tokens deleted by TTL and audits their expiry',
        // One transaction per record, each with the SDK's own retries: 10 records take seconds, so
        // 30 s leaves room for a throttled table without letting a stuck batch hold the shard long.
        timeout: Duration.seconds(30),
        environment: {
          [ENV.tableName]: table.tableName,
          [ENV.policySettings]: JSON.stringify(props.policy),
        },
        logRetention: props.logRetention,
      },
      filterPatterns: [
        props.replicated === true ? EXPIRY_LEDGER_REPLICATED_FILTER_PATTERN : EXPIRY_LEDGER_FILTER_PATTERN,
      ],
      deadLetterQueueOwner: 'the expiry ledger stream mapping on-failure destination',
      deadLetterAlarmDescription:
        "Expired tokens' limit slots were not released after all retries (records in the expiry ledger dead-letter queue)",
      batchSize: props.batchSize,
      retryAttempts: props.retryAttempts,
      maxRecordAge: props.maxRecordAge,
      alarmActions: props.alarmActions,
    });
    this.ledger = this.consumer.function;
    // Tells the ledger that a REMOVE without userIdentity of an expired token is a TTL deletion made
    // in another Region (lambdas/adapters/stream-records.ts, isExpiryDeletion).
    if (props.replicated === true) this.ledger.function.addEnvironment(ENV.globalTable, 'true');
    this.eventSource = this.consumer.eventSource;
    this.deadLetterQueue = this.consumer.deadLetterQueue;
    this.deadLetterAlarm = this.consumer.deadLetterAlarm;

    // Only the items a release touches, only the actions it performs; no reads, queries or scans.
    this.ledger.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReleaseSlotAndAuditExpiry',
        actions: [...EXPIRY_LEDGER_TABLE_ACTIONS],
        resources: [table.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...EXPIRY_LEDGER_LEADING_KEYS] },
        },
      }),
    );
  }
}

/** The constant part of a key built with ID for every id: everything before the first one. */
function prefixOf(key: string): string {
  const at = key.indexOf(ID);
  if (at <= 0) throw new Error(`cannot find the constant prefix of ${key}`);
  return key.slice(0, at);
}
