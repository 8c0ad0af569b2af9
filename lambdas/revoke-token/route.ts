import { revokeToken, type TokenDeps } from '../core/token-service.js';
import type { ManagementDeps } from '../http/management-deps.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';

export function revokeTokenRoute(deps: Pick<ManagementDeps, 'tokens' | 'clock'>): RouteHandler {
  const revoke: TokenDeps = { repository: deps.tokens, clock: deps.clock };
  return routeHandler('revokeToken', async ({ caller, path }) => {
    await revokeToken(revoke, caller, path.id);
    return { statusCode: 204 };
  });
}
