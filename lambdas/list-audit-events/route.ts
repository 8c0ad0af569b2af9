import { type AuditDeps, listAuditEvents, toAuditEventView } from '../core/audit-service.js';
import type { ManagementDeps } from '../http/management-deps.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';

export function listAuditEventsRoute(deps: Pick<ManagementDeps, 'auditLog' | 'cursorKey'>): RouteHandler {
  // keySource only signs list cursors: the cursor key, not the HMAC key.
  const list: AuditDeps = { auditLog: deps.auditLog, keySource: deps.cursorKey };
  return routeHandler('listAuditEvents', async ({ caller, query }) => {
    const page = await listAuditEvents(list, caller, query);
    return {
      statusCode: 200,
      body: { items: page.items.map(toAuditEventView), nextCursor: page.nextCursor ?? null },
    };
  });
}
