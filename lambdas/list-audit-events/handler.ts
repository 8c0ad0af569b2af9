import { type AuditDeps, listAuditEvents, toAuditEventView } from '../core/audit-service.js';
import { routeHandler } from '../http/route-handler.js';
import { cursorKeySourceFromEnv } from '../runtime/key-source.js';
import { auditLogFromEnv } from '../runtime/repositories.js';

// keySource only signs list cursors: the cursor key, not the HMAC key.
const deps: AuditDeps = { auditLog: auditLogFromEnv(), keySource: cursorKeySourceFromEnv() };

export const handler = routeHandler('listAuditEvents', async ({ caller, query }) => {
  const page = await listAuditEvents(deps, caller, query);
  return {
    statusCode: 200,
    body: { items: page.items.map(toAuditEventView), nextCursor: page.nextCursor ?? null },
  };
});
