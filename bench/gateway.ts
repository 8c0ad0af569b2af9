import { type ChildProcess, spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { RATE_LIMIT_BOUNDS } from '../lambdas/core/rate-limits.js';
import { READY_MARKER } from '../local/banner.js';
import { deploymentConfigOf } from '../local/deployment-config.js';
import { findFreePort } from '../local/emulators.js';
import { LOCAL_ENV } from '../local/settings.js';
import { ROOT, stopChild, tail, track, tsxCommand } from './children.js';
import { median, round } from './stats.js';

// Gateway load: `npm start` as a user runs it (bin/local.ts, its own process group, free ports,
// a temporary data directory), a dev JWT from POST /_local/session, a `content:read` token, then
// autocannon on GET /demo/content/x with that token, and sequential create/list/revoke calls.

export interface GatewayLoad {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly rps: number;
  readonly errors: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly socketErrors: number;
  readonly timeouts: number;
  readonly connections: number;
  readonly durationSeconds: number;
}

export interface ManagementLatency {
  readonly createP50Ms: number;
  readonly listP50Ms: number;
  readonly revokeP50Ms: number;
  readonly rounds: number;
}

interface GatewayResults {
  readonly gatewayLoad: GatewayLoad;
  readonly managementLatency: ManagementLatency;
}

export interface LocalStackProcess {
  readonly child: ChildProcess;
  readonly url: string;
  output(): string;
}

/**
 * cdk.json's token types with the highest rate limit API Gateway allows and no quota: the bench and
 * the load test measure the gateway and the service, not the per-token limits the local gateway
 * enforces (docs/rate-limits.md), which would refuse most of 50 connections on one token.
 */
function unthrottledTokenTypes(): Record<string, unknown> {
  const { tokenTypes } = deploymentConfigOf(ROOT).policy;
  return Object.fromEntries(
    Object.entries(tokenTypes).map(([name, { quota: _quota, ...type }]) => [
      name,
      {
        ...type,
        rateLimit: {
          requestsPerSecond: RATE_LIMIT_BOUNDS.requestsPerSecond.max,
          burst: RATE_LIMIT_BOUNDS.burst.max,
        },
      },
    ]),
  );
}

export async function startLocalStack(dataDir: string, readyTimeoutMs = 90_000): Promise<LocalStackProcess> {
  const [gatewayPort, dynamoPort, sesPort] = [
    await findFreePort(),
    await findFreePort(),
    await findFreePort(),
  ];
  const [command, args] = tsxCommand('bin/local.ts');
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      LOCAL_GATEWAY_PORT: String(gatewayPort),
      LOCAL_DYNAMODB_PORT: String(dynamoPort),
      LOCAL_SES_PORT: String(sesPort),
      LOCAL_DATA_DIR: dataDir,
      // The default (0 s): no authorizer result cache, every request runs the authorizer.
      LOCAL_REVOCATION_WINDOW_SECONDS: '',
      [LOCAL_ENV.cdkContext]: JSON.stringify({ tokenTypes: unthrottledTokenTypes() }),
    },
    // One access-log line per request goes to stdout: drained below, only the tail is kept.
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  track('local stack', child, true);
  const stdout = tail(child.stdout, 20_000);
  const stderr = tail(child.stderr);
  const output = () => `${stdout()}\n${stderr()}`;
  await new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(`the local stack printed no ready banner within ${readyTimeoutMs} ms:\n${output()}`),
        ),
      readyTimeoutMs,
    );
    const check = () => {
      if (stdout().includes(READY_MARKER) && stdout().includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        resolveReady();
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the local stack exited with ${code} before it was ready:\n${output()}`));
    });
  });
  return { child, url: `http://127.0.0.1:${gatewayPort}`, output };
}

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly ms: number;
}

async function call(
  base: string,
  method: string,
  path: string,
  options: { auth?: string; body?: unknown; expect: number },
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.auth !== undefined) headers.authorization = `Bearer ${options.auth}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const startedAt = performance.now();
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  const ms = performance.now() - startedAt;
  if (response.status !== options.expect) {
    throw new Error(
      `${method} ${path}: expected ${options.expect}, got ${response.status}: ${text.slice(0, 500)}`,
    );
  }
  const body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  return { status: response.status, body, ms };
}

function stringField(reply: Reply, field: string): string {
  const value = reply.body[field];
  if (typeof value !== 'string' || value === '') throw new Error(`response without ${field}`);
  return value;
}

const createBody = (name: string) => ({ name, scopes: ['content:read'], expiresInDays: 7 });

async function managementRounds(base: string, jwt: string, rounds: number): Promise<ManagementLatency> {
  const create: number[] = [];
  const list: number[] = [];
  const revoke: number[] = [];
  for (let i = 0; i < rounds; i += 1) {
    const created = await call(base, 'POST', '/tokens', {
      auth: jwt,
      body: createBody(`bench ${i}`),
      expect: 201,
    });
    create.push(created.ms);
    list.push((await call(base, 'GET', '/tokens', { auth: jwt, expect: 200 })).ms);
    const id = stringField(created, 'id');
    revoke.push(
      (await call(base, 'DELETE', `/tokens/${encodeURIComponent(id)}`, { auth: jwt, expect: 204 })).ms,
    );
  }
  return {
    createP50Ms: round(median(create), 2),
    listP50Ms: round(median(list), 2),
    revokeP50Ms: round(median(revoke), 2),
    rounds,
  };
}

interface GatewayOptions {
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly managementRounds: number;
  readonly log: (line: string) => void;
}

/** Measures through a started local stack, and stops it. */
export async function measureGateway(
  stack: LocalStackProcess,
  options: GatewayOptions,
): Promise<GatewayResults> {
  try {
    const base = stack.url;
    const session = await call(base, 'POST', '/_local/session', {
      body: { email: 'bench@example.com', accountId: 'bench', role: 'member' },
      expect: 200,
    });
    const jwt = stringField(session, 'jwt');
    const secret = stringField(
      await call(base, 'POST', '/tokens', { auth: jwt, body: createBody('bench load'), expect: 201 }),
      'secret',
    );
    const target = `${base}/demo/content/x`;
    await call(base, 'GET', '/demo/content/x', { auth: secret, expect: 200 });

    options.log(
      `autocannon: ${options.connections} connections, ${options.warmupSeconds} s warm-up + ${options.durationSeconds} s on ${target}`,
    );
    const result = await autocannon({
      url: target,
      connections: options.connections,
      duration: options.durationSeconds,
      headers: { authorization: `Bearer ${secret}` },
      renderProgressBar: false,
      // JIT and DynamoDB Local's JVM warm up first; the warm-up is left out of the figures.
      warmup: { connections: options.connections, duration: options.warmupSeconds },
    });
    const gatewayLoad: GatewayLoad = {
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      rps: round(result.requests.total / result.duration, 1),
      errors: result.non2xx + result.errors + result.timeouts,
      requests: result.requests.total,
      non2xx: result.non2xx,
      socketErrors: result.errors,
      timeouts: result.timeouts,
      connections: options.connections,
      durationSeconds: options.durationSeconds,
    };

    options.log(`management API: ${options.managementRounds} rounds of create, list, revoke...`);
    const managementLatency = await managementRounds(base, jwt, options.managementRounds);
    return { gatewayLoad, managementLatency };
  } catch (error) {
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}\n--- local stack output (tail) ---\n${stack.output().slice(-3000)}`,
    );
  } finally {
    await stopChild(stack.child, 'SIGINT', 10_000);
  }
}
