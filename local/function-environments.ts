import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ENV } from '../lambdas/runtime/env.js';
import { SDK_REQUEST_TIMEOUT_ENV } from '../lambdas/runtime/sdk-options.js';
import { DEPLOYED_ROUTES, FUNCTION_ENTRIES, type RoutePermissions } from '../lib/function-entries.js';
import { MAX_CONCURRENCY_ENV } from './lambda-runtime.js';

// Each function's own environment, as deployed, pointed at the local emulators.
//
// Deployed, every function gets only the variables the stack gives it (a route's from its
// `permissions` in lib/function-entries.ts, through lib/management-functions.ts and the bind methods
// of lib/constructs/token-table.ts and hmac-key.ts; the other functions from their constructs). The
// local stack still runs every handler module in one process with one shared process.env (the union
// of all of them, local/handler-environment.ts), so a handler that reads a variable its function is
// not given would work locally and fail deployed. To catch that here, `checkFunctionEnvironments`
// loads each handler module once, at start, in a worker thread of its own whose process.env is only
// that function's environment (`new Worker(…, { env })`): a handler that needs a variable its
// deployed function lacks fails `npm start` with the function's and the variable's name
// (requireEnv, lambdas/runtime/env.ts). Invocations still run in the shared process. The lists are
// held equal to the synthesized template by test/infra/local-function-environments.test.ts.

/** Local stand-ins for deployed variables: KMS-encrypted keys come from the local key file. */
const LOCAL_SUBSTITUTES: Readonly<Record<string, string>> = {
  [ENV.hmacKeyCiphertext]: ENV.hmacKeyFile,
  [ENV.hmacKeyVersion]: ENV.hmacKeyFile,
  // lambdas/runtime/key-source.ts: the cursor key file sits beside the HMAC key file.
  [ENV.cursorKeyCiphertext]: ENV.hmacKeyFile,
  [ENV.cursorKeyVersion]: ENV.hmacKeyFile,
};

/**
 * Variables every local function gets whatever it is deployed with: what the Lambda runtime sets
 * (region, credentials, concurrency) and the local-only emulator settings.
 */
const RUNTIME_VARIABLES = [
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_SES',
  // Local only: deployed, the SDK talks to API Gateway's own endpoint.
  'AWS_ENDPOINT_URL_API_GATEWAY',
  'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED',
  MAX_CONCURRENCY_ENV,
  SDK_REQUEST_TIMEOUT_ENV,
] as const;

export interface FunctionEnvironmentSpec {
  /** As local/functions.ts names it, e.g. `createToken`. */
  readonly name: string;
  /** Handler module, relative to the repository root. */
  readonly entry: string;
  /** The application variables (ENV) the deployed function is given. */
  readonly variables: readonly string[];
}

/** A route function's variables, as lib/management-functions.ts sets them from its permissions. */
function routeVariables(permissions: RoutePermissions): string[] {
  return [
    ENV.policySettings,
    ...(permissions.table === 'none' ? [] : [ENV.tableName]),
    ...(permissions.hmacKey ? [ENV.hmacKeyCiphertext, ENV.hmacKeyVersion] : []),
    ...(permissions.cursorKey === true ? [ENV.cursorKeyCiphertext, ENV.cursorKeyVersion] : []),
    ...(permissions.usagePlans === undefined ? [] : [ENV.usagePlanPrefix]),
    // Deployed, revokeAllTokens also gets REVOKE_ALL_QUEUE_URL (lib/constructs/revoke-all-jobs.ts);
    // locally it is left unset on purpose: the rest of a job runs in the same process.
  ];
}

/** The functions the local stack runs, each with the variables its deployed function has. */
export const LOCAL_FUNCTION_ENVIRONMENTS: readonly FunctionEnvironmentSpec[] = [
  ...DEPLOYED_ROUTES.map((route) => ({
    name: route.name,
    entry: route.entry,
    variables: routeVariables(route.permissions),
  })),
  {
    // lib/access-tokens-stack.ts: the identity's JWT environment and the table's name.
    name: 'jwtAuthorizer',
    entry: FUNCTION_ENTRIES.jwtAuthorizer,
    variables: [
      ENV.jwtIssuer,
      ENV.jwtAudience,
      ENV.jwtJwksUri,
      ENV.jwtClaimAccountId,
      ENV.jwtClaimRole,
      ENV.jwtClaimEmail,
      ENV.tableName,
    ],
  },
  {
    // lib/constructs/token-authorizer-function.ts, with bindVerify and bindDecrypt.
    name: 'tokenAuthorizer',
    entry: FUNCTION_ENTRIES.tokenAuthorizer,
    variables: [
      ENV.policySettings,
      ENV.authorizerBasePath,
      ENV.tableName,
      ENV.hmacKeyCiphertext,
      ENV.hmacKeyVersion,
    ],
  },
  // lib/constructs/demo-api.ts: no environment of its own.
  { name: 'demoApi', entry: FUNCTION_ENTRIES.demoApi, variables: [] },
  {
    // lib/constructs/notifications.ts (the rate only when configured; locally always).
    name: 'notifier',
    entry: FUNCTION_ENTRIES.notifier,
    variables: [ENV.tableName, ENV.notificationSenderAddress, ENV.notificationMaxSendRate],
  },
  {
    // lib/constructs/expiry-ledger.ts.
    name: 'expiryLedger',
    entry: FUNCTION_ENTRIES.expiryLedger,
    variables: [ENV.tableName, ENV.policySettings],
  },
];

/**
 * The function's own environment: of `localEnvironment` (local/handler-environment.ts), only the
 * runtime variables and the ones it is deployed with (or their local stand-ins).
 */
export function functionEnvironment(
  spec: FunctionEnvironmentSpec,
  localEnvironment: Readonly<Record<string, string>>,
): Record<string, string> {
  const names = new Set<string>(RUNTIME_VARIABLES);
  for (const name of spec.variables) names.add(LOCAL_SUBSTITUTES[name] ?? name);
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = localEnvironment[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

class FunctionEnvironmentError extends Error {
  constructor(spec: FunctionEnvironmentSpec, reason: string) {
    super(`${spec.name} (${spec.entry}) does not load with the environment it is deployed with: ${reason}`);
    this.name = 'FunctionEnvironmentError';
  }
}

// The worker registers tsx (the handlers are TypeScript) and imports the modules one by one; a
// module's top level is its function's cold start, which reads the environment. Functions with the
// same environment share a worker (the outcome is the same, and the SDK loads once per worker).
const LOAD_CHECK = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { register } = await import('tsx/esm/api');
  register();
  for (const [index, url] of workerData.urls.entries()) {
    try {
      const module = await import(url);
      if (typeof module.handler !== 'function') return { index, reason: 'exports no handler function' };
    } catch (error) {
      return { index, reason: error instanceof Error ? error.message : String(error) };
    }
  }
  return null;
})().then((failure) => parentPort.postMessage(failure));
`;

interface LoadFailure {
  readonly index: number;
  readonly reason: string;
}

/** Loads the modules of `specs` (all with environment `env`) in one worker; rejects on the first failure. */
function checkGroup(
  rootDir: string,
  specs: readonly FunctionEnvironmentSpec[],
  env: Record<string, string>,
): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(LOAD_CHECK, {
      eval: true,
      env,
      workerData: { urls: specs.map((spec) => pathToFileURL(resolve(rootDir, spec.entry)).href) },
    });
    let settled = false;
    const settle = (failure: LoadFailure | null) => {
      if (settled) return;
      settled = true;
      const spec = failure === null ? undefined : specs[failure.index];
      void worker
        .terminate()
        .then(() =>
          failure === null
            ? resolvePromise()
            : reject(
                new FunctionEnvironmentError(
                  spec ?? { name: '?', entry: '?', variables: [] },
                  failure.reason,
                ),
              ),
        );
    };
    worker.once('message', (failure: LoadFailure | null) => settle(failure));
    worker.once('error', (error) => settle({ index: 0, reason: error.message }));
    worker.once('exit', (code) => settle({ index: 0, reason: `the worker exited (code ${code})` }));
  });
}

/**
 * Loads every function's handler module in a worker thread with only its own environment, a few
 * workers at a time; rejects with the first failure (FunctionEnvironmentError names the function
 * and the reason, e.g. the missing variable). Every worker has ended when this settles.
 */
export async function checkFunctionEnvironments(
  rootDir: string,
  localEnvironment: Readonly<Record<string, string>>,
  specs: readonly FunctionEnvironmentSpec[] = LOCAL_FUNCTION_ENVIRONMENTS,
): Promise<void> {
  const groups = new Map<string, { env: Record<string, string>; specs: FunctionEnvironmentSpec[] }>();
  for (const spec of specs) {
    const env = functionEnvironment(spec, localEnvironment);
    const key = JSON.stringify(Object.entries(env).sort(([a], [b]) => a.localeCompare(b)));
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { env, specs: [spec] });
    else group.specs.push(spec);
  }
  const queue = [...groups.values()];
  const failures: Error[] = [];
  const lane = async () => {
    for (let group = queue.shift(); group !== undefined; group = queue.shift()) {
      if (failures.length > 0) return;
      try {
        await checkGroup(rootDir, group.specs, group.env);
      } catch (error) {
        failures.push(error instanceof Error ? error : new Error(String(error)));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(2, availableParallelism())) }, lane));
  const [first] = failures;
  if (first !== undefined) throw first;
}
