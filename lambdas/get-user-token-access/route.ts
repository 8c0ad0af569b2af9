import { getUserTokenAccess } from '../core/user-access-service.js';
import type { ManagementDeps } from '../http/management-deps.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';

export function getUserTokenAccessRoute(deps: Pick<ManagementDeps, 'userAccess'>): RouteHandler {
  const get = { userAccess: deps.userAccess };
  return routeHandler('getUserTokenAccess', async ({ caller, path }) => ({
    statusCode: 200,
    body: await getUserTokenAccess(get, caller, path.userId),
  }));
}
