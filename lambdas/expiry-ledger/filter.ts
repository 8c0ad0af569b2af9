import { DYNAMODB_SERVICE_PRINCIPAL } from '../adapters/stream-records.js';

/**
 * The expiry ledger's event filter, in Lambda's filter-criteria syntax. One definition serves the
 * event source mapping (lib/constructs/expiry-ledger.ts) and the local stream poller, so what
 * invokes the function deployed and locally cannot drift: only TTL deletions (REMOVE by the
 * DynamoDB service principal; a user's delete has no userIdentity) of token items. Everything
 * else on the stream (credentials, counters, slots, audit items, idempotency records) is
 * filtered out before it costs an invocation.
 */
export const EXPIRY_LEDGER_FILTER_PATTERN = {
  eventName: ['REMOVE'],
  userIdentity: { type: ['Service'], principalId: [DYNAMODB_SERVICE_PRINCIPAL] },
  dynamodb: { OldImage: { entity: { S: ['token'] } } },
} as const;

/**
 * The filter of a home stack in several Regions (README "Several Regions"): a token item's TTL
 * deletion may have run in another Region's replica, and reaches this stream as a replicated
 * REMOVE without the service's userIdentity (lambdas/adapters/stream-records.ts, isExpiryDeletion).
 * Lambda's filters cannot match an absent object, so every REMOVE of a token item passes; the
 * ledger's own check (`decide`) tells an expiry from an operator's delete. Token items are only
 * ever removed by TTL, so this costs no invocation in practice.
 */
export const EXPIRY_LEDGER_REPLICATED_FILTER_PATTERN = {
  eventName: ['REMOVE'],
  dynamodb: { OldImage: { entity: { S: ['token'] } } },
} as const;
