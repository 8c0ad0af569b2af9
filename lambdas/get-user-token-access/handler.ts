import { getUserTokenAccess } from '../core/user-access-service.js';
import { routeHandler } from '../http/route-handler.js';
import { userAccessRepositoryFromEnv } from '../runtime/repositories.js';

const deps = { userAccess: userAccessRepositoryFromEnv() };

export const handler = routeHandler('getUserTokenAccess', async ({ caller, path }) => ({
  statusCode: 200,
  body: await getUserTokenAccess(deps, caller, path.userId),
}));
