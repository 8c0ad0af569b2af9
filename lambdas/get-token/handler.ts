import { toTokenView } from '../core/model.js';
import { systemClock } from '../core/ports.js';
import { getToken, type TokenDeps } from '../core/token-service.js';
import { routeHandler } from '../http/route-handler.js';
import { tokenRepositoryFromEnv } from '../runtime/repositories.js';

const deps: TokenDeps = { repository: tokenRepositoryFromEnv(), clock: systemClock };

export const handler = routeHandler('getToken', async ({ caller, path }) => {
  const token = await getToken(deps, caller, path.id);
  return { statusCode: 200, body: toTokenView(token, deps.clock.now()) };
});
