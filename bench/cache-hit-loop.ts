import { createHash } from 'node:crypto';
import { BASE_PATH_STAGE_VARIABLE } from '../lambdas/core/gateway-scope.js';
import { type HmacKey, hashToken } from '../lambdas/core/hashing.js';
import { LastUsedThrottle } from '../lambdas/core/last-used-throttle.js';
import type { CredentialRecord } from '../lambdas/core/model.js';
import { generateToken } from '../lambdas/core/token-format.js';
import { VerificationCache } from '../lambdas/core/verification-cache.js';
import { systemMillisClock } from '../lambdas/core/verify-token.js';
import { JsonLineLogger } from '../lambdas/runtime/json-line-logger.js';
import type { TokenAuthorizerEvent } from '../lambdas/token-authorizer/gateway.js';
import { createTokenAuthorizer } from '../lambdas/token-authorizer/token-authorizer.js';
import { lambdaContextFor } from './lambda-contexts.js';

// `npx tsx bench/cache-hit-loop.ts [seconds] > /dev/null`: cache hits through the token authorizer's
// real handler code (token-authorizer.ts, the real cache, logger and gateway code), with in-memory
// stand-ins for the key and the one read, in alternating slices with the floor (one HMAC and one
// decision line), no DynamoDB Local: for profiling (`node --cpu-prof --import tsx …`) and quick
// before/after ratios while working on the hot path. Decision lines go to stdout (send it to
// /dev/null); the figures go to stderr. `npm run bench` remains the measurement of record.
//
// `npx tsx bench/cache-hit-loop.ts [seconds] against DIR > /dev/null`: old and new code in one
// process, in 100 ms slices that alternate between DIR's handler (a checkout of another commit,
// e.g. `git archive <commit> | tar -x -C DIR`, with node_modules linked), this tree's and the
// floor, timed in CPU time: the figure each change on the hot path was kept or dropped by
// (docs/performance.md). Both handlers get the same stand-ins; a clock with nowMs() only when the
// tree has one.

//
// `fresh` (anywhere after the seconds): each call gets its own copy of the event, parsed from JSON
// as Lambda parses each invocation's (1,024 copies, used in turn), so no string of the event is
// the same object as the last call's: what a comparison with the last request costs in Lambda,
// where the same object would make it a pointer comparison.

// What Lambda sets for an on-demand function (the logger's cold_start field reads it).
process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
const seconds = Number(process.argv[2] ?? '3');
const fresh = process.argv.includes('fresh');
/** `handler-only`: no floor slices (for a profile of the handler alone). */
const handlerOnly = process.argv[3] === 'handler-only';
const againstDir = process.argv[3] === 'against' ? process.argv[4] : undefined;
const key: HmacKey = { version: 'v1', material: createHash('sha256').update('bench').digest() };
const { secret } = generateToken('atk');
const credential: CredentialRecord = {
  secretHash: hashToken(key, secret),
  tokenId: 'tok_0000000000000000000001',
  userId: 'user-1',
  accountId: 'acct-1',
  scopes: ['content:read', 'content:write', 'reports:read'],
  type: 'standard',
  allowedIps: [],
  state: 'active',
  expiresAtMs: Date.now() + 86_400_000,
  notAfterMs: null,
  keyVersion: 'v1',
  disabled: false,
  accessGeneration: 0,
  limits: null,
};
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

const eventText = JSON.stringify(event);
const freshEvents = fresh
  ? Array.from({ length: 1024 }, () => JSON.parse(eventText) as TokenAuthorizerEvent)
  : undefined;
/** The event of the `index`th call: the same object, or with `fresh` a copy of it. */
const eventFor = (index: number): TokenAuthorizerEvent => freshEvents?.[index & 1023] ?? event;

/** The modules a handler is made of: this tree's, or (against) another checkout's of the same shape. */
interface HandlerModules {
  readonly createTokenAuthorizer: typeof createTokenAuthorizer;
  readonly VerificationCache: typeof VerificationCache;
  readonly LastUsedThrottle: typeof LastUsedThrottle;
  readonly JsonLineLogger: typeof JsonLineLogger;
  readonly systemMillisClock?: typeof systemMillisClock;
}

function handlerOf(modules: HandlerModules) {
  return modules.createTokenAuthorizer({
    verify: {
      keySource: { getKey: async () => key, loadedKey: () => key },
      credentials: { findByHash: async () => credential },
      cache: new modules.VerificationCache<CredentialRecord>({
        ttlMs: 3_600_000,
        negativeTtlMs: 0,
        maxEntries: 10_000,
      }),
      clock: modules.systemMillisClock ?? { now: () => new Date() },
      tokenPrefix: 'atk',
    },
    defaults: { basePath: '/', routeScopesJson: undefined },
    // process.env itself, as deployed: the logger reads the trace id from it on every invocation, and
    // a plain copy would make that read cheaper than Lambda's.
    logger: new modules.JsonLineLogger(process.env),
    lastUsed: {
      recorder: { recordUse: async () => true },
      throttle: new modules.LastUsedThrottle({ intervalMs: 900_000, maxEntries: 10_000 }),
      intervalMs: 900_000,
    },
  });
}

const handler = handlerOf({
  createTokenAuthorizer,
  VerificationCache,
  LastUsedThrottle,
  JsonLineLogger,
  systemMillisClock,
});

if (againstDir !== undefined) {
  const from = async <T>(path: string): Promise<T> => (await import(`${againstDir}/lambdas/${path}`)) as T;
  const old = handlerOf({
    ...(await from<{ createTokenAuthorizer: typeof createTokenAuthorizer }>(
      'token-authorizer/token-authorizer.ts',
    )),
    ...(await from<{ VerificationCache: typeof VerificationCache }>('core/verification-cache.ts')),
    ...(await from<{ LastUsedThrottle: typeof LastUsedThrottle }>('core/last-used-throttle.ts')),
    ...(await from<{ JsonLineLogger: typeof JsonLineLogger }>('runtime/json-line-logger.ts')),
    ...(await from<{ systemMillisClock?: typeof systemMillisClock }>('core/verify-token.ts')),
  });
  await compareWith(old);
  process.exit(0);
}

// One decision line, for the floor.
let sampleLine = '';
const write = process.stdout.write;
process.stdout.write = ((chunk: string) => {
  sampleLine = String(chunk);
  return true;
}) as typeof process.stdout.write;
await handler(event, lambdaContextFor(0));
process.stdout.write = write;
const floor = async () => {
  hashToken(key, secret);
  process.stdout.write(sampleLine);
};

const totals = [0, 0];
const times = [0, 0];
/** CPU time (user + system, ms) per arm: less disturbed than wall time by other processes on a shared VM. */
const cpuTimes = [0, 0];
const sliceMs = 250;
const end = performance.now() + seconds * 1000;
for (let slice = 0; performance.now() < end; slice += 1) {
  const arm = handlerOnly ? 0 : slice % 2;
  const startedAt = performance.now();
  const cpuBefore = process.cpuUsage();
  const deadline = startedAt + sliceMs;
  let calls = 0;
  while (performance.now() < deadline) {
    if (arm === 0) for (let i = 0; i < 1024; i += 1) await handler(eventFor(i), lambdaContextFor(i));
    else for (let i = 0; i < 1024; i += 1) await floor();
    calls += 1024;
  }
  totals[arm] = (totals[arm] ?? 0) + calls;
  times[arm] = (times[arm] ?? 0) + performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  cpuTimes[arm] = (cpuTimes[arm] ?? 0) + (cpu.user + cpu.system) / 1000;
}
const rate = (arm: number) => Math.round(((totals[arm] ?? 0) / (times[arm] ?? 1)) * 1000);
const cpuRate = (arm: number) => Math.round(((totals[arm] ?? 0) / (cpuTimes[arm] ?? 1)) * 1000);
process.stderr.write(
  handlerOnly
    ? `cache hits ${rate(0)}/s\n`
    : `cache hits ${rate(0)}/s, floor ${rate(1)}/s, ratio ${(rate(0) / rate(1)).toFixed(3)}; per CPU second ${cpuRate(0)} / ${cpuRate(1)}, ratio ${(cpuRate(0) / cpuRate(1)).toFixed(3)}\n`,
);

/** Old (`against`) and new handler and the floor in alternating 100 ms slices, CPU time per call. */
async function compareWith(old: typeof handler): Promise<void> {
  const write = process.stdout.write;
  let line = '';
  process.stdout.write = ((chunk: string) => {
    line = String(chunk);
    return true;
  }) as typeof process.stdout.write;
  await handler(event, lambdaContextFor(0));
  process.stdout.write = write;
  const arms = [
    (i: number) => old(eventFor(i), lambdaContextFor(i)),
    (i: number) => handler(eventFor(i), lambdaContextFor(i)),
    async (_: number) => {
      hashToken(key, secret);
      process.stdout.write(line);
    },
  ];
  const calls = [0, 0, 0];
  const cpuMicros = [0, 0, 0];
  const until = performance.now() + seconds * 1000;
  for (let slice = 0; performance.now() < until; slice += 1) {
    const arm = slice % 3;
    const run = arms[arm];
    if (run === undefined) continue;
    const before = process.cpuUsage();
    const sliceEnd = performance.now() + 100;
    let n = 0;
    while (performance.now() < sliceEnd) {
      for (let i = 0; i < 256; i += 1) await run(i);
      n += 256;
    }
    const used = process.cpuUsage(before);
    calls[arm] = (calls[arm] ?? 0) + n;
    cpuMicros[arm] = (cpuMicros[arm] ?? 0) + used.user + used.system;
  }
  const perCall = (arm: number) => (cpuMicros[arm] ?? 0) / (calls[arm] ?? 1);
  const [oldUs, newUs, floorUs] = [perCall(0), perCall(1), perCall(2)];
  process.stderr.write(
    `CPU µs per call: old ${oldUs.toFixed(2)}, new ${newUs.toFixed(2)}, floor ${floorUs.toFixed(2)}; ` +
      `new / old ${(newUs / oldUs).toFixed(3)}; ratio to the floor old ${(floorUs / oldUs).toFixed(3)}, new ${(floorUs / newUs).toFixed(3)}\n`,
  );
}
