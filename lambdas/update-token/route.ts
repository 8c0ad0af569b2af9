import { toTokenView } from '../core/model.js';
import { type UpdateDeps, updateToken } from '../core/token-lifecycle.js';
import type { ManagementDeps } from '../http/management-deps.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';

export function updateTokenRoute(deps: Pick<ManagementDeps, 'tokens' | 'settings' | 'clock'>): RouteHandler {
  const update: UpdateDeps = { repository: deps.tokens, settings: deps.settings, clock: deps.clock };
  return routeHandler('updateToken', async ({ caller, path, body }) => {
    const token = await updateToken(update, caller, path.id, body);
    return { statusCode: 200, body: toTokenView(token, deps.clock.now()) };
  });
}
