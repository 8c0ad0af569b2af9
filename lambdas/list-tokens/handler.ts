import { toTokenView } from '../core/model.js';
import { systemClock } from '../core/ports.js';
import { type ListDeps, listTokens } from '../core/token-service.js';
import { tokenRepositoryFromEnv } from '../http/dependencies.js';
import { routeHandler } from '../http/route-handler.js';
import { keySourceFromEnv } from '../runtime/key-source.js';

const deps: ListDeps = {
  repository: tokenRepositoryFromEnv(),
  keySource: keySourceFromEnv(),
  clock: systemClock,
};

export const handler = routeHandler('listTokens', async ({ caller, query }) => {
  const page = await listTokens(deps, caller, query);
  const now = deps.clock.now();
  return {
    statusCode: 200,
    body: { items: page.items.map((token) => toTokenView(token, now)), nextCursor: page.nextCursor ?? null },
  };
});
