import { toTokenView } from '../core/model.js';
import { getToken, type TokenDeps } from '../core/token-service.js';
import type { ManagementDeps } from '../http/management-deps.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';

export function getTokenRoute(deps: Pick<ManagementDeps, 'tokens' | 'clock'>): RouteHandler {
  const get: TokenDeps = { repository: deps.tokens, clock: deps.clock };
  return routeHandler('getToken', async ({ caller, path }) => {
    const token = await getToken(get, caller, path.id);
    return { statusCode: 200, body: toTokenView(token, deps.clock.now()) };
  });
}
