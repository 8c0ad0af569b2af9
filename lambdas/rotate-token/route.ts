import { toTokenView } from '../core/model.js';
import { type RotateDeps, rotateToken } from '../core/token-lifecycle.js';
import type { ManagementDeps } from '../http/management-deps.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';

export function rotateTokenRoute(
  deps: Pick<ManagementDeps, 'tokens' | 'hmacKey' | 'settings' | 'clock'>,
): RouteHandler {
  const rotate: RotateDeps = {
    repository: deps.tokens,
    keySource: deps.hmacKey,
    settings: deps.settings,
    clock: deps.clock,
  };
  return routeHandler('rotateToken', async ({ caller, path, body }) => {
    const { token, secret } = await rotateToken(rotate, caller, path.id, body);
    return { statusCode: 201, body: { ...toTokenView(token, deps.clock.now()), secret } };
  });
}
