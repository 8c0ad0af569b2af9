import { systemClock } from '../core/ports.js';
import { revokeToken, type TokenDeps } from '../core/token-service.js';
import { routeHandler } from '../http/route-handler.js';
import { tokenRepositoryFromEnv } from '../runtime/repositories.js';

const deps: TokenDeps = { repository: tokenRepositoryFromEnv(), clock: systemClock };

export const handler = routeHandler('revokeToken', async ({ caller, path }) => {
  await revokeToken(deps, caller, path.id);
  return { statusCode: 204 };
});
