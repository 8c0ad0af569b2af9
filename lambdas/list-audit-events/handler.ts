import { cursorKeySourceFromEnv } from '../runtime/key-source.js';
import { auditLogFromEnv } from '../runtime/repositories.js';
import { listAuditEventsRoute } from './route.js';

// The cursor key only: this function is deployed without the HMAC key (docs/security.md).
export const handler = listAuditEventsRoute({
  auditLog: auditLogFromEnv(),
  cursorKey: cursorKeySourceFromEnv(),
});
