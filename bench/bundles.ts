import { spawn } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { ESM_REQUIRE_BANNER, LAMBDA_UNUSED_CREDENTIAL_SOURCES } from '../lib/constructs/service-function.js';
import { DEPLOYED_ROUTES, FUNCTION_ENTRIES } from '../lib/function-entries.js';
import { ROOT, tail, track } from './children.js';
import { median, round } from './stats.js';

// Cold start: every Lambda entry bundled as lib/constructs/service-function.ts has the CDK bundle it (esbuild,
// ESM, minified, SDK bundled, mainFields module/main, the createRequire banner, source maps without
// sources content, the token authorizer without the credential sources Lambda never has), and the
// module-init time of the authorizer's bundle against a bundle that only builds the same SDK
// clients, each in fresh `node` processes started alternately.

const ESBUILD_TARGET = 'node24';
/** lib/constructs/service-function.ts sets NODE_OPTIONS=--enable-source-maps on every function. */
const LAMBDA_NODE_OPTIONS = '--enable-source-maps';

export const SDK_CLIENTS_ONLY_ENTRY = 'bench/fixtures/sdk-clients-only.ts';
/** The same baseline bundled with every credential source, as a function without `lambdaCredentialsOnly`. */
export const SDK_CLIENTS_ONLY_UNTRIMMED_ENTRY = `${SDK_CLIENTS_ONLY_ENTRY}#untrimmed`;

/**
 * Entries bundled with `lambdaCredentialsOnly` (lib/service-function.ts), as lib/access-tokens-stack.ts
 * sets it for the token authorizer; and the baseline its module init is compared with, so that the
 * ratio compares the same SDK.
 */
const LAMBDA_CREDENTIALS_ONLY = new Set<string>([FUNCTION_ENTRIES.tokenAuthorizer, SDK_CLIENTS_ONLY_ENTRY]);

/** Every Lambda entry of the stack, by its path relative to the repository root. */
function lambdaEntries(): string[] {
  return [
    ...new Set([...DEPLOYED_ROUTES.map((route) => route.entry), ...Object.values(FUNCTION_ENTRIES)]),
  ].sort();
}

interface BuiltBundle {
  readonly entry: string;
  /** The bundle file (index.mjs). */
  readonly file: string;
  readonly bytes: number;
}

async function bundle(entry: string, outDir: string): Promise<BuiltBundle> {
  const dir = join(outDir, entry.replace(/[/\\.]/g, '_'));
  const file = join(dir, 'index.mjs');
  await build({
    entryPoints: [join(ROOT, entry.replace(/#.*$/, ''))],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: ESBUILD_TARGET,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    tsconfig: join(ROOT, 'tsconfig.json'),
    logLevel: 'error',
    absWorkingDir: ROOT,
    ...(LAMBDA_CREDENTIALS_ONLY.has(entry) ? { alias: { ...LAMBDA_UNUSED_CREDENTIAL_SOURCES } } : {}),
  });
  return { entry, file, bytes: statSync(file).size };
}

/** Bundles every entry (and the SDK-clients-only baseline) into `outDir`. */
export async function bundleAll(outDir: string): Promise<BuiltBundle[]> {
  mkdirSync(outDir, { recursive: true });
  return Promise.all(
    [...lambdaEntries(), SDK_CLIENTS_ONLY_ENTRY, SDK_CLIENTS_ONLY_UNTRIMMED_ENTRY].map((entry) =>
      bundle(entry, outDir),
    ),
  );
}

interface InitTiming {
  readonly runs: number;
  /** Median ms from process start (performance.timeOrigin) to "module evaluated". */
  readonly authorizerMs: number;
  readonly sdkClientsOnlyMs: number;
  /** The baseline with every credential source bundled, for reference. */
  readonly sdkClientsOnlyUntrimmedMs: number;
  /** An empty module: what node itself takes to start, for reference. */
  readonly emptyNodeMs: number;
  readonly ratio: number;
  readonly nodeOptions: string;
}

const MARKER = 'BENCH_MODULE_EVALUATED';

/**
 * A wrapper whose static import of the bundle is evaluated before its body, so the body's
 * performance.now() (ms since the process started) is the moment the bundle's module was evaluated.
 */
function writeWrapper(dir: string, name: string, bundleFile: string | undefined): string {
  const file = join(dir, `init-${name}.mjs`);
  const importLine =
    bundleFile === undefined ? '' : `import ${JSON.stringify(pathToFileURL(bundleFile).href)};\n`;
  writeFileSync(
    file,
    `${importLine}const evaluatedMs = performance.now();\nprocess.stdout.write('${MARKER} ' + evaluatedMs + '\\n');\nprocess.exit(0);\n`,
  );
  return file;
}

async function timeStart(wrapper: string, env: Record<string, string>): Promise<number> {
  const child = spawn(process.execPath, [wrapper], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  track('node (module init)', child);
  const stdout = tail(child.stdout);
  const stderr = tail(child.stderr);
  const code = await new Promise<number | null>((resolveExit, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode) => resolveExit(exitCode));
  });
  const match = new RegExp(`${MARKER} ([0-9.]+)`).exec(stdout());
  if (code !== 0 || match?.[1] === undefined) {
    throw new Error(`module init of ${wrapper} failed (exit ${code}):\n${stdout()}\n${stderr()}`);
  }
  return Number(match[1]);
}

export async function measureInit(
  authorizerBundle: string,
  sdkClientsOnlyBundle: string,
  sdkClientsOnlyUntrimmedBundle: string,
  dir: string,
  env: Record<string, string>,
  runs: number,
): Promise<InitTiming> {
  const wrappers = {
    authorizer: writeWrapper(dir, 'authorizer', authorizerBundle),
    sdkClientsOnly: writeWrapper(dir, 'sdk-clients-only', sdkClientsOnlyBundle),
    sdkClientsOnlyUntrimmed: writeWrapper(dir, 'sdk-clients-only-untrimmed', sdkClientsOnlyUntrimmedBundle),
    empty: writeWrapper(dir, 'empty', undefined),
  };
  const childEnv = { ...env, NODE_OPTIONS: LAMBDA_NODE_OPTIONS };
  const samples = {
    authorizer: [] as number[],
    sdkClientsOnly: [] as number[],
    sdkClientsOnlyUntrimmed: [] as number[],
    empty: [] as number[],
  };
  const order = ['authorizer', 'sdkClientsOnly', 'sdkClientsOnlyUntrimmed', 'empty'] as const;
  // One discarded round first (file cache), then `runs` rounds, the order rotating each round.
  for (let round_ = -1; round_ < runs; round_ += 1) {
    for (let k = 0; k < order.length; k += 1) {
      const name = order[(k + Math.max(round_, 0)) % order.length] ?? 'authorizer';
      const ms = await timeStart(wrappers[name], childEnv);
      if (round_ >= 0) samples[name].push(ms);
    }
  }
  const authorizerMs = median(samples.authorizer);
  const sdkClientsOnlyMs = median(samples.sdkClientsOnly);
  return {
    runs,
    authorizerMs: round(authorizerMs, 2),
    sdkClientsOnlyMs: round(sdkClientsOnlyMs, 2),
    sdkClientsOnlyUntrimmedMs: round(median(samples.sdkClientsOnlyUntrimmed), 2),
    emptyNodeMs: round(median(samples.empty), 2),
    ratio: round(authorizerMs / sdkClientsOnlyMs),
    nodeOptions: LAMBDA_NODE_OPTIONS,
  };
}
