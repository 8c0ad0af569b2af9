import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { errorFields } from '../adapters/error-fields.js';
import {
  decodeTokenChange,
  type StreamTableOptions,
  sequenceNumberOf,
  streamRecordFields,
} from '../adapters/stream-records.js';
import { expiredAuditEvent } from '../core/audit.js';
import type { TokenRecord } from '../core/model.js';
import type { TokenRepository } from '../core/ports.js';

// The expiry ledger: DynamoDB's TTL deletion of a token item that was still active → its limit
// slot is released (both active-token counters down by one) and `token.expired` is audited, both
// exactly once. Exactly-once comes from the repository, not from here: the release is one
// conditional transaction on the slot item, and the audit event's id is derived from the token
// id, so a redelivered record (Lambda retries, bisection, a replay from TRIM_HORIZON) or a race
// with the create path's expiry sweep releases nothing a second time.
//
// Partial batch responses, as the notifier's: records are handled in order; the first one that
// fails is reported together with every record after it (not attempted), so Lambda checkpoints
// before it and delivers it again. Redelivering the ones after it is harmless (idempotent), and
// stopping keeps us from hammering a throttled table.

/** One JSON line per call; Powertools' Logger is one. */
export interface LedgerLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

interface ExpiryLedgerDeps {
  readonly repository: Pick<TokenRepository, 'releaseSlotOfDeletedToken'>;
  readonly logger: LedgerLogger;
  /** The table is a global table: expiries may arrive as replicated REMOVEs (docs/regions.md). @default false */
  readonly replicated?: boolean;
}

type SkipReason = 'not-a-token' | 'not-a-ttl-deletion' | 'not-active';

type LedgerDecision =
  | { readonly action: 'release'; readonly token: TokenRecord }
  | { readonly action: 'skip'; readonly reason: SkipReason; readonly tokenId: string | null };

/**
 * What a stream record asks of the ledger. Only a TTL deletion of an active token releases: a
 * revoked token gave its slot back when it was revoked, and a user's (or operator's) delete is not
 * an expiry. The event source's filter already drops most other records; this is the check that
 * counts (the filter cannot see the token's state, and the local stack or a replay may deliver
 * more). Throws when a token image does not parse: a record to report, never to skip silently.
 */
export function decide(record: DynamoDBRecord, options: StreamTableOptions = {}): LedgerDecision {
  const change = decodeTokenChange(record, options);
  if (change === undefined) return { action: 'skip', reason: 'not-a-token', tokenId: null };
  const { oldToken } = change;
  if (change.eventName !== 'REMOVE' || !change.removedByService) {
    return {
      action: 'skip',
      reason: 'not-a-ttl-deletion',
      tokenId: (oldToken ?? change.newToken)?.id ?? null,
    };
  }
  // A REMOVE whose old image is not a token (the stream is NEW_AND_OLD_IMAGES, so never expected).
  if (oldToken === undefined) return { action: 'skip', reason: 'not-a-token', tokenId: null };
  if (oldToken.state !== 'active') return { action: 'skip', reason: 'not-active', tokenId: oldToken.id };
  return { action: 'release', token: oldToken };
}

type ExpiryLedger = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

export function createExpiryLedger(deps: ExpiryLedgerDeps): ExpiryLedger {
  const { repository, logger } = deps;
  const options: StreamTableOptions = { replicated: deps.replicated === true };
  return async (streamEvent) => {
    const records = streamEvent.Records;
    for (const [index, record] of records.entries()) {
      let tokenId: string | null = null;
      try {
        const decision = decide(record, options);
        tokenId = decision.action === 'release' ? decision.token.id : decision.tokenId;
        if (decision.action === 'skip') {
          logger.info('expiry ledger: record needs nothing', {
            tokenId,
            released: false,
            reason: decision.reason,
            ...streamRecordFields(record),
          });
          continue;
        }
        const released = await repository.releaseSlotOfDeletedToken(
          decision.token,
          expiredAuditEvent(decision.token),
        );
        // released false: another delivery of this record, or the create path's expiry sweep, was first.
        logger.info(released ? 'expiry ledger: slot released' : 'expiry ledger: slot already released', {
          tokenId,
          released,
          expiresAt: decision.token.expiresAt,
          ...streamRecordFields(record),
        });
      } catch (error) {
        const failed = records.slice(index);
        logger.error('expiry ledger: release failed; the record will be retried', {
          tokenId,
          released: false,
          ...streamRecordFields(record),
          ...errorFields(error),
          reportedRecords: failed.length,
        });
        return { batchItemFailures: failed.map((item) => ({ itemIdentifier: sequenceNumberOf(item) })) };
      }
    }
    return { batchItemFailures: [] };
  };
}
