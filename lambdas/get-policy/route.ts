import { policyView } from '../core/token-policy.js';
import type { ManagementDeps } from '../http/management-deps.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';

export function getPolicyRoute(deps: Pick<ManagementDeps, 'settings'>): RouteHandler {
  const policy = policyView(deps.settings);
  return routeHandler('getPolicy', async () => ({ statusCode: 200, body: policy }));
}
