import type { ManagementRouteName } from '../lambdas/contract/routes.js';
import { DEPLOYED_ROUTES, FUNCTION_ENTRIES } from '../lib/function-entries.js';
import { type LocalFunction, loadLambdaFunction, localFunction } from './lambda-runtime.js';

// The handler modules the local gateway runs, named by the route table (lambdas/contract/routes.ts), each
// imported once. Import them only after the handler environment is set: they read it at load.

/** API Gateway's REST integration timeout. */
const INTEGRATION_TIMEOUT_MS = 29_000;
const AUTHORIZER_TIMEOUT_MS = 10_000;

export interface LocalFunctions {
  readonly routes: ReadonlyMap<ManagementRouteName, LocalFunction>;
  readonly jwtAuthorizer: LocalFunction;
  readonly tokenAuthorizer: LocalFunction;
  readonly demoApi: LocalFunction;
}

const functionName = (name: string) => `access-tokens-local-${name}`;

export async function loadFunctions(rootDir: string): Promise<LocalFunctions> {
  const load = async (name: string, entry: string, timeoutMs: number) =>
    localFunction(functionName(name), entry, await loadLambdaFunction(rootDir, entry), timeoutMs);
  const routes = new Map<ManagementRouteName, LocalFunction>();
  for (const route of DEPLOYED_ROUTES) {
    routes.set(route.name, await load(route.name, route.entry, INTEGRATION_TIMEOUT_MS));
  }
  return {
    routes,
    jwtAuthorizer: await load('jwtAuthorizer', FUNCTION_ENTRIES.jwtAuthorizer, AUTHORIZER_TIMEOUT_MS),
    tokenAuthorizer: await load('tokenAuthorizer', FUNCTION_ENTRIES.tokenAuthorizer, AUTHORIZER_TIMEOUT_MS),
    demoApi: await load('demoApi', FUNCTION_ENTRIES.demoApi, INTEGRATION_TIMEOUT_MS),
  };
}
