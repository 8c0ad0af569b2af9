import { tokenDetail } from '../core/token-detail.js';
import { getToken, type TokenDeps } from '../core/token-service.js';
import { type ManagementDeps, tokenDetailDeps } from '../http/management-deps.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';

export function getTokenRoute(
  deps: Pick<ManagementDeps, 'tokens' | 'settings' | 'clock' | 'usage'>,
): RouteHandler {
  const get: TokenDeps = { repository: deps.tokens, clock: deps.clock };
  const detail = tokenDetailDeps(deps);
  return routeHandler('getToken', async ({ caller, path }) => {
    const token = await getToken(get, caller, path.id);
    return { statusCode: 200, body: await tokenDetail(detail, token) };
  });
}
