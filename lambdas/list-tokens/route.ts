import { toTokenView } from '../core/model.js';
import { type ListDeps, listTokens } from '../core/token-service.js';
import type { ManagementDeps } from '../http/management-deps.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';

export function listTokensRoute(deps: Pick<ManagementDeps, 'tokens' | 'cursorKey' | 'clock'>): RouteHandler {
  // keySource only signs list cursors: the cursor key, not the HMAC key.
  const list: ListDeps = { repository: deps.tokens, keySource: deps.cursorKey, clock: deps.clock };
  return routeHandler('listTokens', async ({ caller, query }) => {
    const page = await listTokens(list, caller, query);
    const now = deps.clock.now();
    return {
      statusCode: 200,
      body: {
        items: page.items.map((token) => toTokenView(token, now)),
        nextCursor: page.nextCursor ?? null,
      },
    };
  });
}
