import { KEYS } from '../adapters/table-definition.js';

/**
 * The usage-key consumer's event filter, in Lambda's filter-criteria syntax. One definition serves
 * the event source mapping (lib/constructs/usage-plans.ts) and the local stream poller, so what
 * invokes the function deployed and locally cannot drift: token items only, every event (INSERT:
 * created; MODIFY: edited, rotated, revoked, or its lastUsedAt written; REMOVE: TTL expiry or a
 * delete). A filter cannot compare the old and new image, so an edit that leaves the token's limit
 * class alone still invokes the function; it then makes no API Gateway call (sync-usage-key.ts).
 */
export const USAGE_KEYS_FILTER_PATTERN = {
  dynamodb: { Keys: { pk: { S: [{ prefix: KEYS.token('').pk }] } } },
} as const;
