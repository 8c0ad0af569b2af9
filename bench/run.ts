import { readFileSync, writeFileSync } from 'node:fs';
import { arch, availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoTokenRepository } from '../lambdas/adapters/dynamo-token-repository.js';
import { ensureLocalKeyFile, FileKeySource } from '../lambdas/adapters/file-key-source.js';
import { createTableInput } from '../lambdas/adapters/table-definition.js';
import { createTokenRequestSchema } from '../lambdas/contract/api-schemas.js';
import { DEFAULT_POLICY_SETTINGS, parsePolicySettings } from '../lambdas/contract/policy-settings.js';
import { systemClock } from '../lambdas/core/ports.js';
import { createToken } from '../lambdas/core/token-service.js';
import { FUNCTION_ENTRIES } from '../lib/function-entries.js';
import { findFreePort, startDynamoDbLocal } from '../local/emulators.js';
import {
  bundleAll,
  measureInit,
  SDK_CLIENTS_ONLY_ENTRY,
  SDK_CLIENTS_ONLY_UNTRIMMED_ENTRY,
} from './bundles.js';
import { baseEnv, ROOT, runScope, runTsxScript, stopAllChildren, stopChild, track } from './children.js';
import { measureGateway, startLocalStack } from './gateway.js';
import {
  type CacheResult,
  type CallCounts,
  type CallsResult,
  type OverheadResult,
  READ_COMMANDS,
  WORKER_ENV,
  type WorkerMode,
  type WorkerResult,
  WRITE_COMMANDS,
} from './protocol.js';
import { type BenchResult, formatTable, type Machine } from './report.js';
import { round } from './stats.js';
import { STRICT_WORKER_ENV, type StrictResult } from './strict-protocol.js';

// `npm run bench [-- --json FILE] [--quick]`: the token authorizer's performance figures.
//   1. uncached verification through the handler (and through POST /verify's) ÷ a raw consistent
//      GetItem (DynamoDB Local);
//   2. cache-hit verifications per second;
//   3. AWS SDK calls per verification (cold, warm), counted on the real clients;
//   4. bundle sizes of every Lambda entry and the authorizer's module-init time;
//   5. load through the local stack's gateway, and management API latency.
// Every child process is stopped at the end, on an error, and on Ctrl-C / SIGTERM. The exit code
// is non-zero only when something failed; a missed target is reported, not failed.

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: { json: { type: 'string' }, quick: { type: 'boolean', default: false } },
  strict: true,
});
const quick = flags.quick === true;

const PLAN = {
  overheadIterations: quick ? 500 : 2000,
  overheadWarmup: 200,
  cacheWarmup: 2000,
  cacheDurationMs: quick ? 1000 : 2000,
  warmVerifications: quick ? 50 : 200,
  initRuns: 15,
  gatewaySeconds: quick ? 5 : 20,
  gatewayWarmupSeconds: quick ? 1 : 3,
  gatewayConnections: 50,
  managementRounds: quick ? 20 : 50,
  strictSliceMs: 250,
  strictSlices: quick ? 4 : 8,
} as const;

// This process makes SDK clients too: no Node-version notice in the middle of the figures.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const TABLE_NAME = 'access-tokens-bench';
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
const startedAt = Date.now();
const loadAtStart = round(loadavg()[0] ?? 0, 2);
const log = (line: string) =>
  console.log(`[bench ${((Date.now() - startedAt) / 1000).toFixed(1)} s] ${line}`);

// --- stopping children on every way out -------------------------------------------------------

const { dir: workDir, removeDir: removeWorkDir, interrupted } = runScope('atk-bench-');

// --- helpers ---------------------------------------------------------------------------------

function machine(): Machine {
  const cpuList = cpus();
  return {
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    node: process.version,
    os: `${type()} ${release()} ${arch()}`,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
  };
}

function commandLine(): string {
  const args = process.argv.slice(2);
  if (process.env.npm_lifecycle_event === 'bench') {
    return `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
  }
  return ['tsx bench/run.ts', ...args].join(' ');
}

async function runWorker<M extends WorkerMode>(
  mode: M,
  env: Record<string, string>,
  dir: string,
): Promise<Extract<WorkerResult, { mode: M }>> {
  const resultFile = join(dir, `worker-${mode}.json`);
  await runTsxScript(
    `worker ${mode}`,
    join(ROOT, 'bench', 'verify-worker.ts'),
    { ...env, [WORKER_ENV.mode]: mode, [WORKER_ENV.resultFile]: resultFile },
    180_000,
  );
  const result = JSON.parse(readFileSync(resultFile, 'utf8')) as WorkerResult;
  if (result.mode !== mode) throw new Error(`worker ${mode} answered for ${result.mode}`);
  return result as Extract<WorkerResult, { mode: M }>;
}

const sumOf = (counts: CallCounts, names: ReadonlySet<string>) =>
  Object.entries(counts).reduce((sum, [name, count]) => sum + (names.has(name) ? count : 0), 0);
const perVerify = (counts: CallCounts, verifications: number): CallCounts =>
  Object.fromEntries(Object.entries(counts).map(([name, count]) => [name, round(count / verifications)]));

// --- the run ---------------------------------------------------------------------------------

async function main(workDir: string): Promise<BenchResult> {
  log(`DynamoDB Local, table ${TABLE_NAME}, one token; then every Lambda entry is bundled meanwhile...`);
  const dynamo = await startDynamoDbLocal({ port: await findFreePort() });
  track('DynamoDB Local', dynamo.process);
  // Bundling (esbuild, as the CDK does) needs no timing quiet: it runs while the token is made and
  // the first worker starts. Not while the JVM starts: on a busy machine esbuild's threads starved
  // DynamoDB Local past its start timeout.
  const bundling = bundleAll(join(workDir, 'bundles'));
  bundling.catch(() => undefined);
  const client = new DynamoDBClient({
    endpoint: dynamo.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await client.send(new CreateTableCommand(createTableInput(TABLE_NAME)));
  const keyFile = join(workDir, 'hmac.key');
  ensureLocalKeyFile(keyFile);
  const { secret, token } = await createToken(
    {
      repository: new DynamoTokenRepository(
        DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
        TABLE_NAME,
        { auditRetentionDays: DEFAULT_POLICY_SETTINGS.auditRetentionDays },
      ),
      clock: systemClock,
      keySource: new FileKeySource(keyFile),
      settings: DEFAULT_POLICY_SETTINGS,
    },
    {
      userId: 'bench-user',
      accountId: 'bench',
      role: 'member',
      email: 'bench@example.com',
      sourceIp: undefined,
      userAgent: undefined,
    },
    createTokenRequestSchema.parse({ name: 'bench', scopes: ['content:read'], expiresInDays: 7 }),
  );
  client.destroy();
  log(`token ${token.id} created`);

  // The handler's environment, as the stack sets it, pointed at DynamoDB Local.
  const handlerEnv: Record<string, string> = {
    ...baseEnv(),
    ...CREDENTIALS,
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    TABLE_NAME,
    POWERTOOLS_SERVICE_NAME: 'access-tokens',
    POWERTOOLS_LOG_LEVEL: 'INFO',
  };
  const cacheOff = JSON.stringify(parsePolicySettings({ revocationWindowSeconds: 0 }));
  const cacheOn = JSON.stringify(
    parsePolicySettings({ revocationWindowSeconds: 60, verificationCacheSeconds: 60 }),
  );
  const workerEnv = {
    ...handlerEnv,
    [WORKER_ENV.secret]: secret,
    [WORKER_ENV.keyFile]: keyFile,
  };

  log(
    `1/5 the handler vs raw GetItem (new command; reused command), ${PLAN.overheadIterations} interleaved rounds (cache off)...`,
  );
  const overhead: OverheadResult = await runWorker(
    'overhead',
    {
      ...workerEnv,
      POLICY_SETTINGS: cacheOff,
      HMAC_KEY_FILE: keyFile,
      [WORKER_ENV.iterations]: String(PLAN.overheadIterations),
      [WORKER_ENV.warmup]: String(PLAN.overheadWarmup),
    },
    workDir,
  );

  log(`2/5 cache-hit verifications for ${PLAN.cacheDurationMs} ms (cache on)...`);
  const cache: CacheResult = await runWorker(
    'cache',
    {
      ...workerEnv,
      POLICY_SETTINGS: cacheOn,
      HMAC_KEY_FILE: keyFile,
      [WORKER_ENV.warmup]: String(PLAN.cacheWarmup),
      [WORKER_ENV.durationMs]: String(PLAN.cacheDurationMs),
    },
    workDir,
  );

  log(
    `3/5 module init of the authorizer bundle vs SDK clients only, ${PLAN.initRuns} fresh node starts each...`,
  );
  const bundles = await bundling;
  const bundleOf = (entry: string) => {
    const found = bundles.find((candidate) => candidate.entry === entry);
    if (found === undefined) throw new Error(`no bundle for ${entry}`);
    return found;
  };
  const authorizerBundle = bundleOf(FUNCTION_ENTRIES.tokenAuthorizer);
  const init = await measureInit(
    authorizerBundle.file,
    bundleOf(SDK_CLIENTS_ONLY_ENTRY).file,
    bundleOf(SDK_CLIENTS_ONLY_UNTRIMMED_ENTRY).file,
    workDir,
    { ...handlerEnv, POLICY_SETTINGS: JSON.stringify(DEFAULT_POLICY_SETTINGS), HMAC_KEY_FILE: keyFile },
    PLAN.initRuns,
  );

  log('4/5 SDK calls per verification (KMS key source, Decrypt answered on the real KMSClient)...');
  const callsResult: CallsResult = await runWorker(
    'calls',
    {
      ...workerEnv,
      POLICY_SETTINGS: cacheOff,
      HMAC_KEY_CIPHERTEXT: Buffer.from('bench-ciphertext').toString('base64'),
      HMAC_KEY_VERSION: token.keyVersion,
      // Never AWS: a KMS call that escaped the simulation fails on a closed local port.
      AWS_ENDPOINT_URL_KMS: `http://127.0.0.1:${await findFreePort()}`,
      [WORKER_ENV.iterations]: String(PLAN.warmVerifications),
    },
    workDir,
  );

  log(
    '4+/5 strict mode of HTTP APIs: the same request with and without it, alternating slices (cache on)...',
  );
  const strictFile = join(workDir, 'worker-strict.json');
  await runTsxScript(
    'worker strict',
    join(ROOT, 'bench', 'strict-worker.ts'),
    {
      ...handlerEnv,
      HMAC_KEY_FILE: keyFile,
      // Limits far above one process's pace: every strict call is counted, none refused.
      POLICY_SETTINGS: JSON.stringify(
        parsePolicySettings({
          revocationWindowSeconds: 60,
          verificationCacheSeconds: 60,
          tokenTypes: {
            ...DEFAULT_POLICY_SETTINGS.tokenTypes,
            standard: {
              description: 'bench',
              rateLimit: { requestsPerSecond: 10_000, burst: 5_000 },
              quota: { limit: 1_000_000_000, period: 'DAY' },
            },
          },
        }),
      ),
      [STRICT_WORKER_ENV.secret]: secret,
      [STRICT_WORKER_ENV.resultFile]: strictFile,
      [STRICT_WORKER_ENV.sliceMs]: String(PLAN.strictSliceMs),
      [STRICT_WORKER_ENV.slices]: String(PLAN.strictSlices),
    },
    180_000,
  );
  const strict = JSON.parse(readFileSync(strictFile, 'utf8')) as StrictResult;

  await stopChild(dynamo.process);
  // One after the other: on a busy machine the local stack's DynamoDB Local did not start in time
  // next to the counting worker.
  log('5/5 gateway: starting the local stack (tsx bin/local.ts)...');
  const gateway = await measureGateway(await startLocalStack(join(workDir, 'local-data')), {
    durationSeconds: PLAN.gatewaySeconds,
    warmupSeconds: PLAN.gatewayWarmupSeconds,
    connections: PLAN.gatewayConnections,
    managementRounds: PLAN.managementRounds,
    log,
  });

  const warm = callsResult.warm;
  const n = callsResult.warmVerifications;
  return {
    command: commandLine(),
    quick,
    startedAt: new Date(startedAt).toISOString(),
    durationSeconds: round((Date.now() - startedAt) / 1000, 1),
    machine: machine(),
    overheadRatioMedian: round(overhead.authorizer.medianMs / overhead.rawGetItem.medianMs),
    overheadRatioP99: round(overhead.authorizer.p99Ms / overhead.rawGetItem.p99Ms),
    verifyRatioMedian: round(overhead.verify.medianMs / overhead.rawGetItem.medianMs),
    verifyRatioP99: round(overhead.verify.p99Ms / overhead.rawGetItem.p99Ms),
    authorizerMedianMs: overhead.authorizer.medianMs,
    authorizerP99Ms: overhead.authorizer.p99Ms,
    rawGetItemMedianMs: overhead.rawGetItem.medianMs,
    rawGetItemP99Ms: overhead.rawGetItem.p99Ms,
    overhead: {
      authorizer: overhead.authorizer,
      verify: overhead.verify,
      rawGetItem: overhead.rawGetItem,
      rawGetItemReusedCommand: overhead.rawGetItemReusedCommand,
      phases: overhead.phases,
    },
    cacheHitOpsPerSec: cache.opsPerSec,
    cacheHit: {
      verifications: cache.verifications,
      elapsedMs: cache.elapsedMs,
      opsPerCpuSecond: cache.opsPerCpuSecond,
      floorOpsPerSec: cache.floorOpsPerSec,
      floorOpsPerCpuSecond: cache.floorOpsPerCpuSecond,
      ddbReads: cache.ddbReads,
      cacheActive: cache.ddbReads === 0,
      logLinesPerVerification: cache.logLinesPerVerification,
      decisionLinesPerVerification: cache.decisionLinesPerVerification,
      hmacsPerVerification: cache.hmacsPerVerification,
    },
    loadAverage: { start: loadAtStart, end: round(loadavg()[0] ?? 0, 2) },
    kmsCallsWarm: warm.DecryptCommand ?? 0,
    ddbReadsPerUncachedVerify: round(sumOf(warm, READ_COMMANDS) / n),
    ddbWritesPerVerify: round(sumOf(warm, WRITE_COMMANDS) / n),
    sdkCallsCold: callsResult.cold,
    sdkCallsWarm: perVerify(warm, n),
    warmVerifications: n,
    bundleBytes: Object.fromEntries(
      bundles.filter((b) => !b.entry.startsWith(SDK_CLIENTS_ONLY_ENTRY)).map((b) => [b.entry, b.bytes]),
    ),
    authorizerBundleBytes: authorizerBundle.bytes,
    authorizerInitRatio: init.ratio,
    init: {
      runs: init.runs,
      authorizerMs: init.authorizerMs,
      sdkClientsOnlyMs: init.sdkClientsOnlyMs,
      sdkClientsOnlyUntrimmedMs: init.sdkClientsOnlyUntrimmedMs,
      emptyNodeMs: init.emptyNodeMs,
      nodeOptions: init.nodeOptions,
    },
    gatewayLoad: gateway.gatewayLoad,
    managementLatency: gateway.managementLatency,
    strictHttp: strict,
  };
}

let exitCode = 0;
try {
  const result = await main(workDir);
  if (flags.json !== undefined) {
    const file = resolve(process.env.INIT_CWD ?? process.cwd(), flags.json);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    log(`JSON written to ${file}`);
  }
  console.log(`\n${formatTable(result)}\n`);
} catch (error) {
  exitCode = 1;
  if (!interrupted())
    console.error(
      `\nbenchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
} finally {
  await stopAllChildren();
  removeWorkDir();
}
if (!interrupted()) process.exit(exitCode);
