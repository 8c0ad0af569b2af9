import { writeFileSync } from 'node:fs';
import { DynamoRateCounters } from '../lambdas/adapters/dynamo-rate-counters.js';
import { BASE_PATH_STAGE_VARIABLE } from '../lambdas/core/gateway-scope.js';
import { RATE_LIMITS_STAGE_VARIABLE, STRICT_RATE_LIMITS } from '../lambdas/core/rate-window.js';
import type { TokenAuthorizerEvent, TokenAuthorizerResult } from '../lambdas/token-authorizer/gateway.js';
import { lambdaContextFor } from './lambda-contexts.js';
import { summarize } from './stats.js';
import { STRICT_WORKER_ENV, type StrictArm, type StrictResult } from './strict-protocol.js';

// The cost of the strict mode of HTTP APIs (docs/rate-limits.md "HTTP APIs"), in its own process
// with one fresh handler: the same token's HTTP API request with and without the strict stage
// variable, in alternating time slices (both see the same machine), the in-process verification
// cache on in both (what a warm container does), DynamoDB Local behind the counters. Per arm:
// verifications per second and per-call latency; and the counter writes per strict verification,
// with one counter write timed in the same slices as the reference (DynamoDB Local's write latency
// is most of strict mode's cost, and it varies with the machine's load).
// The token's type has limits far above what one process reaches, so every strict call is counted
// and allowed; refusals are counted and reported (a run with any measured a refusal, not counting).

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`strict worker: ${name} is not set`);
  return value;
}

const secret = env(STRICT_WORKER_ENV.secret);

function httpEvent(strict: boolean): TokenAuthorizerEvent {
  return {
    version: '2.0',
    type: 'REQUEST',
    routeKey: 'GET /demo/{area}/{proxy+}',
    rawPath: '/demo/content/x',
    headers: { authorization: `Bearer ${secret}`, accept: '*/*', 'user-agent': 'bench' },
    stageVariables: {
      [BASE_PATH_STAGE_VARIABLE]: '/demo',
      ...(strict ? { [RATE_LIMITS_STAGE_VARIABLE]: STRICT_RATE_LIMITS } : {}),
    },
    requestContext: {
      stage: '$default',
      routeKey: 'GET /demo/{area}/{proxy+}',
      http: { method: 'GET', path: '/demo/content/x', sourceIp: '198.51.100.7' },
    },
  };
}

const context = lambdaContextFor(0);

const isAllowed = (result: TokenAuthorizerResult) => 'isAuthorized' in result && result.isAuthorized;

async function main(): Promise<StrictResult> {
  const { sharedDocumentClient } = await import('../lambdas/runtime/clients.js');
  let counterWrites = 0;
  sharedDocumentClient().middlewareStack.add(
    (next, ctx) => async (args) => {
      // The base client's command name, the document client's (unmarshalled) input.
      const input = (args.input ?? {}) as { Key?: { pk?: unknown } };
      if (ctx.commandName === 'UpdateItemCommand' && String(input.Key?.pk).startsWith('RATE#'))
        counterWrites++;
      return next(args);
    },
    { step: 'initialize', name: 'benchCountCounters', priority: 'high' },
  );
  const { handler } = await import('../lambdas/token-authorizer/handler.js');
  const events = [httpEvent(false), httpEvent(true)] as const;
  // The reference: one counter write as the counters make it (an ADD answering the total), on an
  // item of its own, so the strict arm's extra time can be read as "writes per request × this".
  const counters = new DynamoRateCounters(sharedDocumentClient(), env('TABLE_NAME'));
  const window = { kind: 'rate', name: 'bench', allowance: 1, startsAtMs: 0, endsAtMs: Date.now() } as const;
  const calls = [
    () => handler(events[0], context),
    () => handler(events[1], context),
    () => counters.add('bench-reference', window, 1),
  ] as const;
  // Warm both paths (credential cached, counters created, connections open).
  for (let i = 0; i < 200; i++) {
    for (const event of events) {
      if (!isAllowed(await handler(event, context))) throw new Error('the strict bench token was refused');
    }
  }
  let refused = 0;

  const sliceMs = Number(env(STRICT_WORKER_ENV.sliceMs));
  const slices = Number(env(STRICT_WORKER_ENV.slices));
  const samples: [number[], number[], number[]] = [[], [], []];
  const totals = [
    { calls: 0, ms: 0 },
    { calls: 0, ms: 0 },
    { calls: 0, ms: 0 },
  ];
  let strictWrites = 0;
  for (let slice = 0; slice < 3 * slices; slice++) {
    const arm = slice % 3;
    const call = calls[arm] as () => Promise<unknown>;
    const armSamples = samples[arm] as number[];
    const total = totals[arm] as { calls: number; ms: number };
    const writesBefore = counterWrites;
    const startedAt = performance.now();
    const deadline = startedAt + sliceMs;
    while (performance.now() < deadline) {
      const callStartedAt = performance.now();
      const result = await call();
      armSamples.push(performance.now() - callStartedAt);
      if (arm !== 2 && !isAllowed(result as TokenAuthorizerResult)) refused++;
      total.calls++;
    }
    total.ms += performance.now() - startedAt;
    if (arm === 1) strictWrites += counterWrites - writesBefore;
  }
  const [plain, strict, write] = totals as [
    { calls: number; ms: number },
    { calls: number; ms: number },
    { calls: number; ms: number },
  ];
  const arm = (total: { calls: number; ms: number }, latencies: number[]): StrictArm => ({
    opsPerSec: Math.round((total.calls / total.ms) * 1000),
    latency: summarize(latencies),
  });
  return {
    plain: arm(plain, samples[0]),
    strict: arm(strict, samples[1]),
    counterWrite: arm(write, samples[2]),
    counterWritesPerVerification: strictWrites / strict.calls,
    refused,
  };
}

// The handler's decision lines go to stdout, which the parent discards.
try {
  writeFileSync(env(STRICT_WORKER_ENV.resultFile), JSON.stringify(await main()));
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
