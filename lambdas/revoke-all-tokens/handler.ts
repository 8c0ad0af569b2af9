import { systemClock } from '../core/ports.js';
import { type RevokeAllDeps, revokeAllTokens } from '../core/token-lifecycle.js';
import { routeHandler } from '../http/route-handler.js';
import { auditLogFromEnv, tokenRepositoryFromEnv } from '../runtime/repositories.js';

const deps: RevokeAllDeps = {
  repository: tokenRepositoryFromEnv(),
  auditLog: auditLogFromEnv(),
  clock: systemClock,
};

export const handler = routeHandler('revokeAllTokens', async ({ caller, query }) => ({
  statusCode: 200,
  body: { revoked: await revokeAllTokens(deps, caller, query) },
}));
