import { type ManagementRouteName, routeNamed } from '../../lambdas/contract/routes.js';
import type { RouteHandler } from '../../lambdas/http/route-handler.js';
import { DEPLOYED_ROUTES } from '../../lib/function-entries.js';
import { type InvokeResult, invoke, type ProxyEventOptions, proxyEvent } from './proxy-events.js';

/** A request to a management route: its method and resource come from the route table. */
export type RouteRequest = Omit<ProxyEventOptions, 'method' | 'resource'>;

export interface ManagementClient {
  /** Invokes the route's real handler with an API Gateway proxy event for `request`. */
  call(name: ManagementRouteName, request: RouteRequest): Promise<InvokeResult>;
}

/**
 * The management API as the tests call it: every route's handler, loaded straight from the route
 * table (a route added there is callable here), invoked in process. Load it after the handler
 * environment is stubbed: the handlers read it at import. `onResult` sees every response (e.g. to
 * scan bodies for secrets).
 */
export async function managementClient(
  onResult?: (name: ManagementRouteName, result: InvokeResult) => void,
): Promise<ManagementClient> {
  const handlers = new Map<ManagementRouteName, RouteHandler>();
  for (const route of DEPLOYED_ROUTES) {
    const module = `../../${route.entry.replace(/\.ts$/, '.js')}`;
    handlers.set(route.name, ((await import(module)) as { handler: RouteHandler }).handler);
  }
  return {
    async call(name, request) {
      const handler = handlers.get(name);
      if (handler === undefined) throw new Error(`no handler for route ${name}`);
      const route = routeNamed(name);
      const result = await invoke(
        handler,
        proxyEvent({ method: route.method, resource: route.path, ...request }),
      );
      onResult?.(name, result);
      return result;
    },
  };
}
