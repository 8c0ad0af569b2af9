import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../local/emulators.js';
import { pollUntil } from '../support/time.js';
import { type StackProcess, spawnLocalStack, stackTestTimeout } from './local-stack-process.js';

// Rate limits and quotas per token at the local gateway (#14, docs/rate-limits.md "Local
// emulation"), end to end: `npm start` with the authorizer's result cache ON (a revocation window of
// 30 s, so API Gateway's cache is emulated with a TTL and the token authorizer runs once per token),
// the usage-key consumer on the stream, the emulated usage plans enforced after the authorizer.
//
// Both ways a token gets its limits: its own, lower than its type's, given at create (`limits`,
// the 5 requests/s burst-5 token: a usage plan of its own limit class), and its type's, here the
// `daily20` type given to this run through LOCAL_CDK_CONTEXT (as cdk.json's `tokenTypes` would).
//
// No fixed sleep is a deadline: waits poll with a ceiling on the monotonic clock; the one wait for
// the token bucket to refill is a minimum (at least 1 s), followed by a bounded retry.

const TOKEN_TYPES = {
  standard: {
    description: 'Any scopes from the catalogue.',
    rateLimit: { requestsPerSecond: 50, burst: 100 },
  },
  daily20: {
    description: 'At most 20 requests a day.',
    rateLimit: { requestsPerSecond: 50, burst: 100 },
    quota: { limit: 20, period: 'DAY' },
  },
};

interface Reply {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: { readonly error?: { readonly code: string }; readonly [key: string]: unknown } | null;
}

let gateway = '';

async function call(method: string, path: string, auth: string, body?: unknown): Promise<Reply> {
  const response = await fetch(`${gateway}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${auth}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: text === '' ? null : (JSON.parse(text) as Reply['body']),
  };
}

const demo = (secret: string) => call('GET', '/demo/reports/daily', secret);

async function createToken(
  jwt: string,
  name: string,
  type: string,
  limits?: unknown,
): Promise<{ id: string; secret: string }> {
  const reply = await call('POST', '/tokens', jwt, {
    name,
    type,
    scopes: ['reports:read'],
    expiresInDays: 7,
    ...(limits === undefined ? {} : { limits }),
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return { id: String(reply.body?.id), secret: String(reply.body?.secret) };
}

/**
 * The first 200 of a new token. The create route puts its usage key in place before answering (best
 * effort; the usage-key consumer on the stream is the guarantee): until the key exists the gateway
 * answers 503 TOKEN_NOT_READY, which counts against nothing. That 200 is the token's first counted
 * request.
 */
async function firstSuccess(secret: string): Promise<void> {
  const reply = await pollUntil(
    () => demo(secret),
    (r) => r.status !== 503,
  );
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
}

describe('rate limits and quotas at the local gateway (authorizer cache on)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'atk-rate-limits-e2e-'));
  let stack: StackProcess | undefined;
  let jwt = '';

  /** The stack on free ports with `dataDir`; sets `gateway` and signs in `jwt` (its issuer is the gateway). */
  async function startStack(): Promise<StackProcess> {
    const [gatewayPort, dynamoPort, sesPort] = [
      await findFreePort(),
      await findFreePort(),
      await findFreePort(),
    ];
    gateway = `http://127.0.0.1:${gatewayPort}`;
    const started = spawnLocalStack({
      LOCAL_GATEWAY_PORT: String(gatewayPort),
      LOCAL_DYNAMODB_PORT: String(dynamoPort),
      LOCAL_SES_PORT: String(sesPort),
      LOCAL_DATA_DIR: dataDir,
      LOCAL_REVOCATION_WINDOW_SECONDS: '30',
      LOCAL_CDK_CONTEXT: JSON.stringify({ tokenTypes: TOKEN_TYPES }),
    });
    stack = started;
    await started.ready;
    const session = await fetch(`${gateway}/_local/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'limits@example.com', accountId: 'acme', role: 'member' }),
    });
    jwt = ((await session.json()) as { jwt: string }).jwt;
    return started;
  }

  beforeAll(async () => {
    await startStack();
  }, stackTestTimeout());

  afterAll(() => {
    stack?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    '5 req/s burst 5: a burst of 50 gets 5 through and 429 RATE_LIMITED for the rest; 200 again after a second; another token is unaffected',
    async () => {
      const limited = await createToken(jwt, 'burst', 'standard', {
        rateLimit: { requestsPerSecond: 5, burst: 5 },
      });
      const other = await createToken(jwt, 'bystander', 'standard');
      await firstSuccess(limited.secret);
      await firstSuccess(other.secret);
      // Let the bucket fill up again after the first request (5 a second: 200 ms per request).
      await new Promise((resolve) => setTimeout(resolve, 1_000));

      const startedAt = performance.now();
      const replies = await Promise.all(Array.from({ length: 50 }, () => demo(limited.secret)));
      const elapsedSeconds = (performance.now() - startedAt) / 1000;
      const allowed = replies.filter((reply) => reply.status === 200).length;
      const refused = replies.filter((reply) => reply.status === 429);
      expect(allowed + refused.length, JSON.stringify(replies.map((r) => r.status))).toBe(50);
      // The bucket holds 5; a slow burst may see it refill by 5 a second while it lasts.
      expect(allowed).toBeGreaterThanOrEqual(5);
      expect(allowed).toBeLessThanOrEqual(5 + Math.ceil(elapsedSeconds * 5));
      for (const reply of refused) {
        expect(reply.body).toEqual({ error: { code: 'RATE_LIMITED', message: 'Too many requests' } });
        expect(Number(reply.retryAfter)).toBeGreaterThanOrEqual(1);
      }
      const lastRefusalAt = performance.now();

      // Another token, with its own bucket, is not held back.
      for (let index = 0; index < 5; index += 1) expect((await demo(other.secret)).status).toBe(200);

      // A second after the burst the bucket has refilled: 200 again (bounded retries for a slow machine).
      const remaining = 1_000 - (performance.now() - lastRefusalAt);
      if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));
      const again = await pollUntil(
        () => demo(limited.secret),
        (reply) => reply.status === 200,
        { ceilingMs: 5_000, intervalMs: 200 },
      );
      expect(again.status).toBe(200);

      // Every one of them after the first went through the authorizer's cached answer.
      expect(stack?.output()).toMatch(/GET \/demo\/reports\/daily → 429 \(\d+ ms, authorizer cache hit\)/);
    },
    stackTestTimeout(),
  );

  it(
    'a quota of 20 a day: the 21st call is 429 QUOTA_EXCEEDED, a rotation in between keeps the count, another token is unaffected',
    async () => {
      const quota = await createToken(jwt, 'daily', 'daily20');
      const other = await createToken(jwt, 'bystander 2', 'standard');
      await firstSuccess(quota.secret); // 1 of 20
      for (let index = 2; index <= 10; index += 1) {
        expect((await demo(quota.secret)).status, `call ${index}`).toBe(200);
      }
      // Rotating gives a new secret; the usage key (from the token id) and its count stay.
      const rotated = await call('POST', `/tokens/${quota.id}/rotate`, jwt, {});
      expect(rotated.status, JSON.stringify(rotated.body)).toBe(201);
      const secret = String(rotated.body?.secret);
      expect(secret).not.toBe(quota.secret);
      for (let index = 11; index <= 20; index += 1) {
        expect((await demo(secret)).status, `call ${index}`).toBe(200);
      }
      const refused = await demo(secret);
      expect(refused.status).toBe(429);
      expect(refused.body?.error?.code).toBe('QUOTA_EXCEEDED');
      // Until midnight UTC, when the day's count starts again.
      const untilMidnight = Math.ceil((Date.UTC(...utcTomorrow()) - Date.now()) / 1000);
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(refused.retryAfter)).toBeLessThanOrEqual(untilMidnight + 5);

      await firstSuccess(other.secret);
      expect((await demo(other.secret)).status).toBe(200);
    },
    stackTestTimeout(),
  );

  it('GET /tokens/{id} shows the usage against the quota (the emulator counts, through GetUsage)', async () => {
    const quota = await createToken(jwt, 'usage shown', 'daily20');
    await firstSuccess(quota.secret);
    for (let index = 2; index <= 3; index += 1) expect((await demo(quota.secret)).status).toBe(200);
    const detail = await call('GET', `/tokens/${quota.id}`, jwt);
    expect(detail.status).toBe(200);
    expect(detail.body?.usage).toMatchObject({ used: 3, limit: 20, remaining: 17, period: 'DAY' });
  });
});

function utcTomorrow(): [number, number, number] {
  const now = new Date();
  return [now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1];
}
