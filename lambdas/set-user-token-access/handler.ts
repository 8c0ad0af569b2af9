import { systemClock } from '../core/ports.js';
import { setUserTokenAccess, type UserAccessDeps } from '../core/user-access-service.js';
import { routeHandler } from '../http/route-handler.js';
import { tokenRepositoryFromEnv, userAccessRepositoryFromEnv } from '../runtime/repositories.js';

const deps: UserAccessDeps = {
  userAccess: userAccessRepositoryFromEnv(),
  tokens: tokenRepositoryFromEnv(),
  clock: systemClock,
};

export const handler = routeHandler('setUserTokenAccess', async ({ caller, path, body }) => ({
  statusCode: 200,
  body: await setUserTokenAccess(deps, caller, path.userId, body.enabled),
}));
