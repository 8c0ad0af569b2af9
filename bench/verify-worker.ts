import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type { DecryptCommandOutput } from '@aws-sdk/client-kms';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { DynamoCredentialReader } from '../lambdas/adapters/dynamo-credential-reader.js';
import { FileKeySource } from '../lambdas/adapters/file-key-source.js';
import { KEYS } from '../lambdas/adapters/table-definition.js';
import { BASE_PATH_STAGE_VARIABLE } from '../lambdas/core/gateway-scope.js';
import { hashToken } from '../lambdas/core/hashing.js';
import type { TokenAuthorizerEvent, TokenAuthorizerResult } from '../lambdas/token-authorizer/gateway.js';
import { proxyEvent } from '../local/events.js';
import { lambdaContextFor } from './lambda-contexts.js';
import {
  type CacheResult,
  type CallCounts,
  type CallsResult,
  type OverheadPhases,
  type OverheadResult,
  READ_COMMANDS,
  WORKER_ENV,
  type WorkerMode,
  type WorkerResult,
} from './protocol.js';
import { summarize } from './stats.js';

// One fresh module instance of the token authorizer, in its own process (the handler reads its env
// at import, so cache-off and cache-on need separate processes; stdout, where the handler's log
// lines go, is discarded by the parent). The handler is called as Lambda calls it, with a context
// (a different request id each time), so every decision line carries the context fields. Modes:
//   overhead  cache off: the handler (and POST /verify's handler, lambdas/verify-token) vs a raw
//             consistent GetItem of the same credential item through the same shared document
//             client (a new GetCommand each time, as the handler makes one), interleaved (order
//             rotating).
//   cache     cache on: first, untimed, the log lines and HMACs of 1,000 cache hits (each must be
//             exactly one); then sequential awaited cache hits for a fixed time, in alternating
//             slices with the floor of a cache hit (one HMAC and one such line, nothing else).
//   calls     cache off, KMS key source: SDK calls of the cold path (init + first verification)
//             and of later uncached verifications, counted by a middleware on the real clients.
//             There is no KMS here, so a terminal middleware on the real KMSClient answers Decrypt
//             with the key file's bytes; the count is of real `send`s by KmsKeySource.
//
// The handler module is imported dynamically, after the counting middleware is on the shared
// clients (same module instance of lambdas/runtime/clients.ts as the handler's).

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`worker: ${name} is not set`);
  return value;
}

const mode = env(WORKER_ENV.mode) as WorkerMode;
const secret = env(WORKER_ENV.secret);
const keyFile = env(WORKER_ENV.keyFile);
const tableName = env('TABLE_NAME');

const PATH = '/demo/content/x';
const event: TokenAuthorizerEvent = {
  version: '1.0',
  type: 'REQUEST',
  methodArn: `arn:aws:execute-api:us-east-1:123456789012:benchapi/bench/GET${PATH}`,
  resource: '/demo/{area}/{proxy+}',
  headers: { Authorization: `Bearer ${secret}`, Accept: '*/*', 'User-Agent': 'bench' },
  stageVariables: { [BASE_PATH_STAGE_VARIABLE]: '/demo' },
  requestContext: {
    stage: 'bench',
    resourcePath: '/demo/{area}/{proxy+}',
    identity: { sourceIp: '198.51.100.7' },
  },
};

type Handler = (event: TokenAuthorizerEvent, context: Context) => Promise<TokenAuthorizerResult>;

async function loadHandler(): Promise<Handler> {
  return (await import('../lambdas/token-authorizer/handler.js')).handler;
}

type VerifyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

async function loadVerifyHandler(): Promise<VerifyHandler> {
  return (await import('../lambdas/verify-token/handler.js')).handler;
}

/** POST /verify for the same token and request, as API Gateway hands it after SigV4 (a principal named). */
function verifyEvent(index: number): APIGatewayProxyEvent {
  const built = proxyEvent(
    { apiId: 'benchapi', stage: 'bench', stageVariables: null },
    {
      method: 'POST',
      path: '/verify',
      rawHeaders: ['Content-Type', 'application/json'],
      query: [],
      body: JSON.stringify({ token: secret, method: 'GET', path: '/content/x', sourceIp: '198.51.100.7' }),
      sourceIp: '198.51.100.7',
      requestId: `verify-${index}`,
      receivedAt: Date.now(),
      domainName: 'benchapi.execute-api.us-east-1.amazonaws.com',
      port: 443,
    },
    { resourcePath: '/verify', pathParameters: {} },
    null,
  );
  built.requestContext.identity.userArn = 'arn:aws:iam::123456789012:role/bench-service';
  return built;
}

function assertVerified(result: APIGatewayProxyResult): void {
  if (result.statusCode !== 200 || !result.body.includes('"valid":true')) {
    throw new Error(`/verify did not accept the benchmark token: ${result.statusCode} ${result.body}`);
  }
}

function assertAllowed(result: TokenAuthorizerResult): void {
  const allowed =
    'isAuthorized' in result
      ? result.isAuthorized
      : result.policyDocument.Statement.some((statement) => statement.Effect === 'Allow');
  if (!allowed)
    throw new Error(`the authorizer did not allow the benchmark token: ${JSON.stringify(result)}`);
}

const counts = new Map<string, number>();
const snapshot = (): CallCounts => Object.fromEntries(counts);
function difference(after: CallCounts, before: CallCounts): CallCounts {
  const result: Record<string, number> = {};
  for (const [name, value] of Object.entries(after)) {
    const delta = value - (before[name] ?? 0);
    if (delta !== 0) result[name] = delta;
  }
  return result;
}
const readsIn = (calls: CallCounts) =>
  Object.entries(calls).reduce((sum, [name, value]) => sum + (READ_COMMANDS.has(name) ? value : 0), 0);

/** Counts every send on the shared clients; in `calls` mode also answers KMS Decrypt locally. */
async function instrumentClients(simulateKms: boolean): Promise<void> {
  const clients = await import('../lambdas/runtime/clients.js');
  const count = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);
  clients.sharedDocumentClient().middlewareStack.add(
    (next, context) => async (args) => {
      count(context.commandName ?? 'unknown');
      return next(args);
    },
    { step: 'initialize', name: 'benchCountDynamoDb', priority: 'high' },
  );
  const plaintext = new Uint8Array(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64'));
  clients.sharedKmsClient().middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      count(name);
      if (!simulateKms) return next(args);
      if (name !== 'DecryptCommand') throw new Error(`unexpected KMS call ${name}`);
      const output: DecryptCommandOutput = { Plaintext: plaintext, $metadata: { httpStatusCode: 200 } };
      return { output, response: undefined };
    },
    { step: 'initialize', name: 'benchCountKms', priority: 'high' },
  );
}

const settle = (ms: number) => new Promise((resolveWait) => setTimeout(resolveWait, ms));

/**
 * Marks the start and end of every credential read the handler makes, on the reader class the
 * handler module instantiates (the same module instance: patched before the handler is imported).
 */
function markCredentialReads(): { startedAt: number; endedAt: number } {
  const marks = { startedAt: Number.NaN, endedAt: Number.NaN };
  const read = DynamoCredentialReader.prototype.findByHash;
  DynamoCredentialReader.prototype.findByHash = async function (this: DynamoCredentialReader, hash) {
    marks.startedAt = performance.now();
    try {
      return await read.call(this, hash);
    } finally {
      marks.endedAt = performance.now();
    }
  };
  return marks;
}

async function overhead(): Promise<OverheadResult> {
  const reads = markCredentialReads();
  const handler = await loadHandler();
  const verifyHandler = await loadVerifyHandler();
  const { sharedDocumentClient } = await import('../lambdas/runtime/clients.js');
  const client = sharedDocumentClient();
  const key = await new FileKeySource(keyFile).getKey();
  const secretHash = hashToken(key, secret);
  // A command per read, as any caller makes one: a command object sent again skips part of the
  // SDK's per-command set-up, which no real read does.
  const get = () =>
    new GetCommand({ TableName: tableName, Key: KEYS.credential(secretHash), ConsistentRead: true });
  const iterations = Number(env(WORKER_ENV.iterations));
  const warmup = Number(env(WORKER_ENV.warmup));
  const authorizer: number[] = [];
  const verify: number[] = [];
  const raw: number[] = [];
  const rawReused: number[] = [];
  const beforeRead: number[] = [];
  const afterRead: number[] = [];
  const hmacAfterIo: number[] = [];
  // For reference only: the same read with one command object sent again and again.
  const reused = get();
  let invocation = 0;
  const timeAuthorizer = async (record: boolean) => {
    const context = lambdaContextFor(invocation++);
    const startedAt = performance.now();
    const result = await handler(event, context);
    const endedAt = performance.now();
    assertAllowed(result);
    if (!record) return;
    authorizer.push(endedAt - startedAt);
    beforeRead.push(reads.startedAt - startedAt);
    afterRead.push(endedAt - reads.endedAt);
  };
  const timeVerify = async (record: boolean) => {
    const index = invocation++;
    const verifyCall = verifyEvent(index);
    const startedAt = performance.now();
    const result = await verifyHandler(verifyCall, lambdaContextFor(index));
    const endedAt = performance.now();
    assertVerified(result);
    if (record) verify.push(endedAt - startedAt);
  };
  const timeRead = (command: () => GetCommand, samples: number[]) => async (record: boolean) => {
    const startedAt = performance.now();
    const { Item } = await client.send(command());
    const took = performance.now() - startedAt;
    if (Item === undefined) throw new Error('the raw GetItem found no credential item');
    if (!record) return;
    samples.push(took);
    // After the timing: one HMAC as the handler runs it, right after waiting on I/O.
    const hmacStartedAt = performance.now();
    hashToken(key, secret);
    hmacAfterIo.push(performance.now() - hmacStartedAt);
  };
  // The four in turn, the order rotating each iteration so none always runs first.
  const arms = [timeAuthorizer, timeVerify, timeRead(get, raw), timeRead(() => reused, rawReused)];
  for (let i = 0; i < warmup + iterations; i += 1) {
    const record = i >= warmup;
    for (let k = 0; k < arms.length; k += 1) await arms[(i + k) % arms.length]?.(record);
  }
  const hmacBackToBack: number[] = [];
  for (let i = 0; i < 1000; i += 1) {
    const startedAt = performance.now();
    hashToken(key, secret);
    hmacBackToBack.push(performance.now() - startedAt);
  }
  const phases: OverheadPhases = {
    beforeRead: summarize(beforeRead),
    afterRead: summarize(afterRead),
    hmacAfterIo: summarize(hmacAfterIo),
    hmacBackToBack: summarize(hmacBackToBack),
  };
  return {
    mode: 'overhead',
    authorizer: summarize(authorizer),
    verify: summarize(verify),
    rawGetItem: summarize(raw),
    rawGetItemReusedCommand: summarize(rawReused),
    phases,
  };
}

/**
 * Runs `verifications` cache-hit verifications outside any timing and counts what they wrote and
 * hashed: decision lines (JSON with the message and the Lambda context fields) on stdout and
 * stderr, and HMACs, wrapped for the count and put back after: node:crypto's createHmac counts one,
 * and each one-shot SHA-256 (`hash`) half of one, since hashToken makes an HMAC from two of them
 * (lambdas/core/hashing.ts).
 */
async function countPerVerification(
  handler: Handler,
  verifications: number,
): Promise<{ logLines: number; decisionLines: number; hmacs: number; sampleLine: string }> {
  const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  const originalHmac = crypto.createHmac;
  const originalHash = crypto.hash;
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
  const chunks: string[] = [];
  let hmacs = 0;
  crypto.createHmac = ((...args: Parameters<typeof originalHmac>) => {
    hmacs += 1;
    return originalHmac(...args);
  }) as typeof originalHmac;
  crypto.hash = ((...args: Parameters<typeof originalHash>) => {
    if (args[0] === 'sha256') hmacs += 0.5;
    return originalHash(...args);
  }) as typeof originalHash;
  syncBuiltinESMExports();
  const capture = (chunk: unknown) => {
    chunks.push(String(chunk));
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    for (let i = 0; i < verifications; i += 1) assertAllowed(await handler(event, lambdaContextFor(i)));
  } finally {
    process.stdout.write = writes.stdout;
    process.stderr.write = writes.stderr;
    crypto.createHmac = originalHmac;
    crypto.hash = originalHash;
    syncBuiltinESMExports();
  }
  const lines = chunks
    .join('')
    .split('\n')
    .filter((line) => line !== '');
  const decisionLines = lines.filter((line) => {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    return (
      parsed.message === 'token authorizer decision' &&
      parsed.reason === 'VALID' &&
      typeof parsed.function_request_id === 'string'
    );
  }).length;
  return {
    logLines: lines.length / verifications,
    decisionLines: decisionLines / verifications,
    hmacs: hmacs / verifications,
    sampleLine: `${lines[0] ?? ''}\n`,
  };
}

/** Calls per second of wall time and of the worker's CPU time. */
interface Rate {
  readonly opsPerSec: number;
  readonly opsPerCpuSecond: number;
}

/**
 * Times `step` and `floor` (each an awaited call) in alternating slices of `sliceMs`, `slices` each,
 * so that both see the same machine: on a shared VM the load changes within seconds.
 */
async function timeAlternating(
  step: (index: number) => Promise<unknown>,
  floor: () => Promise<unknown>,
  sliceMs: number,
  slices: number,
): Promise<{ step: Rate & { readonly calls: number; readonly elapsedMs: number }; floor: Rate }> {
  const totals = [
    { calls: 0, ms: 0, cpuUs: 0 },
    { calls: 0, ms: 0, cpuUs: 0 },
  ];
  for (let slice = 0; slice < 2 * slices; slice += 1) {
    const total = totals[slice % 2];
    if (total === undefined) continue;
    const startedAt = performance.now();
    const cpuBefore = process.cpuUsage();
    const deadline = startedAt + sliceMs;
    while (performance.now() < deadline) {
      if (slice % 2 === 0) for (let i = 0; i < 1024; i += 1) await step(i);
      else for (let i = 0; i < 1024; i += 1) await floor();
      total.calls += 1024;
    }
    total.ms += performance.now() - startedAt;
    const cpu = process.cpuUsage(cpuBefore);
    total.cpuUs += cpu.user + cpu.system;
  }
  const rate = (total: { calls: number; ms: number; cpuUs: number }): Rate => ({
    opsPerSec: Math.round((total.calls / total.ms) * 1000),
    opsPerCpuSecond: Math.round(total.calls / (total.cpuUs / 1e6)),
  });
  const [steps, floors] = totals as [(typeof totals)[0], (typeof totals)[0]];
  return {
    step: { ...rate(steps), calls: steps.calls, elapsedMs: Math.round(steps.ms) },
    floor: rate(floors),
  };
}

async function cache(): Promise<CacheResult> {
  await instrumentClients(false);
  const handler = await loadHandler();
  const warmup = Number(env(WORKER_ENV.warmup));
  const durationMs = Number(env(WORKER_ENV.durationMs));
  // Bounded in time too, so that a cache that is off cannot stretch the warm-up to minutes.
  const warmupDeadline = performance.now() + 1000;
  for (let i = 0; i < warmup && performance.now() < warmupDeadline; i += 1) {
    assertAllowed(await handler(event, lambdaContextFor(i)));
  }
  // A decision line as the handler writes it, for the floor below (and the counts, untimed).
  const counted = await countPerVerification(handler, 1000);
  const key = await new FileKeySource(keyFile).getKey();
  // The floor of a cache hit, whatever the code: the one HMAC of the token and the one decision
  // line written to stdout, in an awaited call as the runtime awaits the handler; nothing else.
  const floor = async () => {
    hashToken(key, secret);
    process.stdout.write(counted.sampleLine);
  };
  await settle(100);
  const before = snapshot();
  const timed = await timeAlternating((i) => handler(event, lambdaContextFor(i)), floor, durationMs / 4, 4);
  const ddbReads = readsIn(difference(snapshot(), before));
  assertAllowed(await handler(event, lambdaContextFor(0)));
  return {
    mode: 'cache',
    opsPerSec: timed.step.opsPerSec,
    opsPerCpuSecond: timed.step.opsPerCpuSecond,
    floorOpsPerSec: timed.floor.opsPerSec,
    floorOpsPerCpuSecond: timed.floor.opsPerCpuSecond,
    verifications: timed.step.calls,
    elapsedMs: timed.step.elapsedMs,
    ddbReads,
    logLinesPerVerification: counted.logLines,
    decisionLinesPerVerification: counted.decisionLines,
    hmacsPerVerification: counted.hmacs,
  };
}

async function calls(): Promise<CallsResult> {
  await instrumentClients(true);
  const handler = await loadHandler();
  assertAllowed(await handler(event, lambdaContextFor(0)));
  // The lastUsedAt UpdateItem runs in the background: let it be sent before counting.
  await settle(300);
  const cold = snapshot();
  const warmVerifications = Number(env(WORKER_ENV.iterations));
  for (let i = 0; i < warmVerifications; i += 1) assertAllowed(await handler(event, lambdaContextFor(i + 1)));
  await settle(300);
  return { mode: 'calls', cold, warm: difference(snapshot(), cold), warmVerifications };
}

async function main(): Promise<WorkerResult> {
  switch (mode) {
    case 'overhead':
      return overhead();
    case 'cache':
      return cache();
    case 'calls':
      return calls();
    default:
      throw new Error(`worker: unknown mode ${String(mode)}`);
  }
}

try {
  const result = await main();
  writeFileSync(env(WORKER_ENV.resultFile), JSON.stringify(result));
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
