import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureLocalKeyFile } from '../lambdas/adapters/file-key-source.js';
import { parsePolicySettings } from '../lambdas/contract/policy-settings.js';
import { type DeploymentConfig, loadDeploymentConfig } from '../lib/config.js';
import type { LocalComponent, LocalStackUrls, RunningComponent, StackContext } from './components.js';
import { ensureConsoleBuilt } from './console-assets.js';
import { readCdkContext } from './deployment-config.js';
import { emulatorComponent } from './emulator-component.js';
import { assertPortFree } from './emulators.js';
import { checkFunctionEnvironmentsOnce } from './function-environment-cache.js';
import { gatewayComponent } from './gateway-component.js';
import { DEMO_API } from './gateway-routes.js';
import { applyEnvironment, handlerEnvironment } from './handler-environment.js';
import { notifierComponent } from './notifier-component.js';
import { LOCAL_ENV, type LocalSettings } from './settings.js';
import { tableComponent } from './table-component.js';
import { usageKeysComponent } from './usage-keys-component.js';
import { localApiGateway } from './usage-plans.js';

// `npm start`: the whole service on one machine. Checks every port first, then starts the
// components in order (emulators, table, gateway) and stops them in reverse; a failure while
// starting stops whatever already runs.

const LOCAL_TABLE_NAME = 'access-tokens';
export const REPOSITORY_ROOT = fileURLToPath(new URL('..', import.meta.url));

const DEFAULT_COMPONENTS: readonly LocalComponent[] = [
  emulatorComponent,
  tableComponent,
  notifierComponent,
  gatewayComponent,
  // After the gateway: the consumer reaches the emulated API Gateway through it.
  usageKeysComponent,
];

interface LocalStackOptions {
  readonly settings: LocalSettings;
  /** @default the repository this file is in */
  readonly rootDir?: string;
  /** @default cdk.json's `context` */
  readonly context?: Record<string, unknown>;
  /** @default console.log */
  readonly log?: (line: string) => void;
  /** @default DEFAULT_COMPONENTS; pass more to add one (e.g. [...DEFAULT_COMPONENTS, poller]). */
  readonly components?: readonly LocalComponent[];
}

export interface LocalStack {
  readonly urls: LocalStackUrls;
  readonly config: DeploymentConfig;
  readonly context: StackContext;
  stop(): Promise<void>;
}

async function assertPortsFree(settings: LocalSettings): Promise<void> {
  await assertPortFree(settings.gatewayPort, LOCAL_ENV.gatewayPort);
  await assertPortFree(settings.dynamoDbPort, LOCAL_ENV.dynamoDbPort);
  await assertPortFree(settings.sesPort, LOCAL_ENV.sesPort);
}

function stackContext(options: LocalStackOptions): StackContext {
  const rootDir = options.rootDir ?? REPOSITORY_ROOT;
  const { settings } = options;
  // LOCAL_CDK_CONTEXT replaces cdk.json keys for this run (validated as cdk.json is).
  const config = loadDeploymentConfig(
    options.context ?? { ...readCdkContext(rootDir), ...settings.cdkContext },
  );
  const policy = parsePolicySettings(
    { ...config.policy, revocationWindowSeconds: settings.revocationWindowSeconds },
    'local policy settings',
  );
  const host = 'http://127.0.0.1';
  return {
    settings,
    rootDir,
    config,
    policy,
    tableName: LOCAL_TABLE_NAME,
    // The type plans on the demo API's stage, as CDK creates them deployed.
    apiGateway: localApiGateway(policy, [{ apiId: DEMO_API.apiId, stage: DEMO_API.stage }]),
    urls: {
      gateway: `${host}:${settings.gatewayPort}`,
      sesEmulator: `${host}:${settings.sesPort}`,
      dynamoDb: `${host}:${settings.dynamoDbPort}`,
    },
    paths: {
      dynamoDbData: join(settings.dataDir, 'dynamodb'),
      hmacKeyFile: join(settings.dataDir, 'hmac.key'),
      devIdentityKey: join(settings.dataDir, 'dev-identity-key.pem'),
    },
    log: options.log ?? ((line) => console.log(line)),
  };
}

async function stopAll(running: readonly RunningComponent[]): Promise<void> {
  for (const component of [...running].reverse()) {
    try {
      await component.stop();
    } catch {
      // Keep stopping the others.
    }
  }
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const context = stackContext(options);
  await assertPortsFree(context.settings);
  mkdirSync(context.settings.dataDir, { recursive: true });
  ensureLocalKeyFile(context.paths.hmacKeyFile);
  const environment = handlerEnvironment({
    config: context.config,
    policy: context.policy,
    tableName: context.tableName,
    hmacKeyFile: context.paths.hmacKeyFile,
    gatewayUrl: context.urls.gateway,
    dynamoDbUrl: context.urls.dynamoDb,
    sesUrl: context.urls.sesEmulator,
  });
  // Each handler must load with only the variables its deployed function has (worker threads,
  // local/function-environments.ts); checked while the emulators start, and before the stack is ready,
  // unless the same code and environments passed before (local/function-environment-cache.ts).
  const checked = checkFunctionEnvironmentsOnce(context.rootDir, environment, {
    gateway: context.urls.gateway,
    dynamoDb: context.urls.dynamoDb,
    ses: context.urls.sesEmulator,
    dataDir: context.settings.dataDir,
  }).then(
    () => undefined,
    (error: unknown) => error,
  );
  // The web console, built while the emulators start when its sources changed (local/console-assets.ts).
  // A failed build leaves the API running and says why.
  const consoleBuilt = ensureConsoleBuilt(context.rootDir, context.log).catch((error: unknown) =>
    context.log(
      `The console could not be built (the API works): ${error instanceof Error ? error.message : String(error)}`,
    ),
  );
  // Before any handler module is imported in this process: they read their environment at load.
  // This process's environment is the union of all functions'.
  applyEnvironment(environment);

  const running: RunningComponent[] = [];
  try {
    for (const component of options.components ?? DEFAULT_COMPONENTS) {
      running.push(await component.start(context));
    }
    const failure = await checked;
    if (failure !== undefined) throw failure;
    await consoleBuilt;
  } catch (error) {
    await checked;
    await consoleBuilt;
    await stopAll(running);
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    urls: context.urls,
    config: context.config,
    context,
    stop: () => {
      stopping ??= stopAll(running);
      return stopping;
    },
  };
}
