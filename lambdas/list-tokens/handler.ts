import { toTokenView } from '../core/model.js';
import { systemClock } from '../core/ports.js';
import { type ListDeps, listTokens } from '../core/token-service.js';
import { routeHandler } from '../http/route-handler.js';
import { cursorKeySourceFromEnv } from '../runtime/key-source.js';
import { tokenRepositoryFromEnv } from '../runtime/repositories.js';

const deps: ListDeps = {
  repository: tokenRepositoryFromEnv(),
  // Only signs list cursors: the cursor key, not the HMAC key.
  keySource: cursorKeySourceFromEnv(),
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
