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

const seconds = Number(process.argv[2] ?? '3');
/** `handler-only`: no floor slices (for a profile of the handler alone). */
const handlerOnly = process.argv[3] === 'handler-only';
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

const handler = createTokenAuthorizer({
  verify: {
    keySource: { getKey: async () => key, loadedKey: () => key },
    credentials: { findByHash: async () => credential },
    cache: new VerificationCache<CredentialRecord>({
      ttlMs: 3_600_000,
      negativeTtlMs: 0,
      maxEntries: 10_000,
    }),
    clock: systemMillisClock,
    tokenPrefix: 'atk',
  },
  defaults: { basePath: '/', routeScopesJson: undefined },
  logger: new JsonLineLogger({ ...process.env, AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' }),
  lastUsed: {
    recorder: { recordUse: async () => true },
    throttle: new LastUsedThrottle({ intervalMs: 900_000, maxEntries: 10_000 }),
    intervalMs: 900_000,
  },
});

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
    if (arm === 0) for (let i = 0; i < 1024; i += 1) await handler(event, lambdaContextFor(i));
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
