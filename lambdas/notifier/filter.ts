import { CONTACT_PREFIX } from '../adapters/dynamo-owner-contacts.js';
import { KEYS } from '../adapters/table-definition.js';

/**
 * The notifier's event filters, in Lambda's filter-criteria syntax (a record passes if any one
 * matches). One definition serves the event source mapping (lib/constructs/notifications.ts) and
 * the local stream poller, so what invokes the function deployed and locally cannot drift: token
 * items, owners' contact items (address changes), and the summary audit event of a revoke-all
 * (one email per owner for all its tokens). Everything else (credentials, counters, slots, other
 * audit events, the notifier's own idempotency records) never costs an invocation.
 */
export const NOTIFIER_FILTER_PATTERNS = [
  { dynamodb: { Keys: { pk: { S: [{ prefix: KEYS.token('').pk }] } } } },
  { dynamodb: { Keys: { pk: { S: [{ prefix: CONTACT_PREFIX }] } } } },
  {
    eventName: ['INSERT'],
    dynamodb: { NewImage: { entity: { S: ['audit'] }, action: { S: ['tokens.revoked-all'] } } },
  },
] as const;
