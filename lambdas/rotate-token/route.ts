import { tokenDetail } from '../core/token-detail.js';
import { type RotateDeps, rotateToken } from '../core/token-lifecycle.js';
import { type ManagementDeps, tokenDetailDeps } from '../http/management-deps.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';

export function rotateTokenRoute(
  deps: Pick<ManagementDeps, 'tokens' | 'hmacKey' | 'settings' | 'clock' | 'usage'>,
): RouteHandler {
  const rotate: RotateDeps = {
    repository: deps.tokens,
    keySource: deps.hmacKey,
    settings: deps.settings,
    clock: deps.clock,
  };
  const detail = tokenDetailDeps(deps);
  return routeHandler('rotateToken', async ({ caller, path, body }) => {
    const { token, secret } = await rotateToken(rotate, caller, path.id, body);
    return { statusCode: 201, body: { ...(await tokenDetail(detail, token)), secret } };
  });
}
