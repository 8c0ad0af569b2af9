import { tokenDetail } from '../core/token-detail.js';
import { type UpdateDeps, updateToken } from '../core/token-lifecycle.js';
import { type ManagementDeps, tokenDetailDeps, usageKeySyncDeps } from '../http/management-deps.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';

export function updateTokenRoute(
  deps: Pick<ManagementDeps, 'tokens' | 'settings' | 'clock' | 'usage' | 'usagePlans'>,
): RouteHandler {
  const update: UpdateDeps = {
    repository: deps.tokens,
    settings: deps.settings,
    clock: deps.clock,
    ...usageKeySyncDeps(deps),
  };
  const detail = tokenDetailDeps(deps);
  return routeHandler('updateToken', async ({ caller, path, body }) => {
    const token = await updateToken(update, caller, path.id, body);
    return { statusCode: 200, body: await tokenDetail(detail, token) };
  });
}
