import { z } from 'zod';
import { AUDIT_ACTIONS, type AuditEvent, ROLES } from '../core/model.js';
import { INDEXES, KEYS, PARTITIONS } from './table-definition.js';

// Audit event items: written by the repositories inside the transaction of the change they record
// (so an action and its audit event exist together or not at all) and by AuditLog.append; read
// back by AuditLog.list through the base table (one token) or the byOwner / byAccount indexes.

const DAY_SECONDS = 86_400;

const auditValue = z.union([z.string(), z.array(z.string()), z.null()]);

const auditItemSchema = z.object({
  entity: z.literal('audit'),
  id: z.string(),
  at: z.string(),
  action: z.enum(AUDIT_ACTIONS),
  accountId: z.string(),
  subjectUserId: z.string(),
  tokenId: z.string().nullable(),
  tokenName: z.string().nullable(),
  actor: z.object({
    userId: z.string().nullable(),
    role: z.enum(ROLES).nullable(),
    sourceIp: z.string().nullable(),
    userAgent: z.string().nullable(),
  }),
  changes: z.array(
    z.object({
      field: z.enum(['name', 'description', 'scopes', 'allowedIps', 'expiresAt', 'limits']),
      from: auditValue,
      to: auditValue,
    }),
  ),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
});

/** The base-table partition of an event: its token's, or its subject user's when about no token. */
export function auditPartitionOf(event: Pick<AuditEvent, 'tokenId' | 'accountId' | 'subjectUserId'>): string {
  return event.tokenId === null
    ? PARTITIONS.auditOfUser(event.accountId, event.subjectUserId)
    : PARTITIONS.auditOfToken(event.tokenId);
}

export function auditEventToItem(event: AuditEvent, retentionDays: number): Record<string, unknown> {
  const sortKey = `${event.at}#${event.id}`;
  return {
    ...KEYS.audit(auditPartitionOf(event), event.at, event.id),
    entity: 'audit',
    ...event,
    actor: { ...event.actor },
    changes: event.changes.map((change) => ({
      field: change.field,
      from: Array.isArray(change.from) ? [...change.from] : change.from,
      to: Array.isArray(change.to) ? [...change.to] : change.to,
    })),
    details: { ...event.details },
    [INDEXES.byOwner.partitionKey]: PARTITIONS.auditOfUser(event.accountId, event.subjectUserId),
    [INDEXES.byOwner.sortKey]: sortKey,
    [INDEXES.byAccount.partitionKey]: PARTITIONS.auditOfAccount(event.accountId),
    [INDEXES.byAccount.sortKey]: sortKey,
    ttl: Math.floor(Date.parse(event.at) / 1000) + retentionDays * DAY_SECONDS,
  };
}

export function isAuditItem(item: Record<string, unknown> | undefined): boolean {
  return item?.entity === 'audit';
}

export function itemToAuditEvent(item: Record<string, unknown>): AuditEvent {
  const { entity: _entity, ...event } = auditItemSchema.parse(item);
  return event;
}
