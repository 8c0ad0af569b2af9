import { tokenDetail } from '../core/token-detail.js';
import { type CreateDeps, createToken } from '../core/token-service.js';
import { type ManagementDeps, tokenDetailDeps, usageKeySyncDeps } from '../http/management-deps.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';

export function createTokenRoute(
  deps: Pick<ManagementDeps, 'tokens' | 'hmacKey' | 'settings' | 'clock' | 'usage' | 'usagePlans'>,
): RouteHandler {
  const create: CreateDeps = {
    repository: deps.tokens,
    keySource: deps.hmacKey,
    settings: deps.settings,
    clock: deps.clock,
    ...usageKeySyncDeps(deps),
  };
  const detail = tokenDetailDeps(deps);
  return routeHandler('createToken', async ({ caller, body }) => {
    const { token, secret } = await createToken(create, caller, body);
    return { statusCode: 201, body: { ...(await tokenDetail(detail, token)), secret } };
  });
}
