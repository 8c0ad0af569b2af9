import { setUserTokenAccess, type UserAccessDeps } from '../core/user-access-service.js';
import type { ManagementDeps } from '../http/management-deps.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';

export function setUserTokenAccessRoute(
  deps: Pick<ManagementDeps, 'userAccess' | 'tokens' | 'clock'>,
): RouteHandler {
  const set: UserAccessDeps = { userAccess: deps.userAccess, tokens: deps.tokens, clock: deps.clock };
  return routeHandler('setUserTokenAccess', async ({ caller, path, body }) => ({
    statusCode: 200,
    body: await setUserTokenAccess(set, caller, path.userId, body.enabled),
  }));
}
