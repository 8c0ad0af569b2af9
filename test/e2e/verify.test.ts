import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VerifyClient } from '../../lib/verify-client.js';
import { pollUntil } from '../support/time.js';
import { type StackProcess, spawnLocalStackOnFreePorts, stackTestTimeout } from './local-stack-process.js';

// The verify API against `npm start` (docs/verify.md): the real process, POST /verify through the
// local gateway from loopback (no SigV4 locally), called with the client helper as a service would
// (lib/verify-client.ts, unsigned for the local stack). Valid, wrong scope, revoked, malformed; the
// banner names the route; a valid verification records lastUsedAt like the authorizer.

describe('POST /verify on the local stack', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'atk-verify-e2e-'));
  let stack: StackProcess | undefined;
  let gateway = '';

  beforeAll(async () => {
    const started = await spawnLocalStackOnFreePorts(dataDir);
    stack = started.stack;
    gateway = started.urls.gateway;
    await stack.ready;
  }, stackTestTimeout());

  afterAll(() => {
    stack?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function json(method: string, path: string, auth: string, body?: unknown) {
    const response = await fetch(`${gateway}${path}`, {
      method,
      headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text === '' ? null : JSON.parse(text)) as Record<string, unknown> | null,
    };
  }

  it('the banner names the route and the loopback rule', () => {
    const output = stack?.output() ?? '';
    expect(output).toContain(`${gateway}/verify`);
    expect(output).toMatch(/loopback only/);
  });

  it('valid, wrong scope, revoked and malformed, with the client helper; never the secret back', async () => {
    const session = await fetch(`${gateway}/_local/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'vera@example.com', accountId: 'acme', role: 'member' }),
    });
    const jwt = String(((await session.json()) as { jwt: string }).jwt);
    const created = await json('POST', '/tokens', jwt, {
      name: 'verify e2e',
      scopes: ['reports:read'],
      expiresInDays: 7,
    });
    expect(created.status).toBe(201);
    const tokenId = String(created.body?.id);
    const secret = String(created.body?.secret);

    const client = new VerifyClient({ url: gateway, credentials: null });
    const valid = await client.verify({
      token: secret,
      method: 'GET',
      path: '/reports/42',
      sourceIp: '203.0.113.9',
    });
    expect(valid).toMatchObject({
      valid: true,
      reason: 'VALID',
      tokenId,
      scopes: ['reports:read'],
      accountId: 'acme',
    });
    expect(JSON.stringify(valid)).not.toContain(secret);

    expect(await client.verify({ token: secret, method: 'POST', path: '/reports/42' })).toMatchObject({
      valid: false,
      reason: 'INSUFFICIENT_SCOPE',
      tokenId,
    });
    expect(await client.verify({ token: secret, requiredScope: 'content:read' })).toMatchObject({
      reason: 'INSUFFICIENT_SCOPE',
    });
    expect(await client.verify({ token: 'atk_definitely-not-a-token' })).toEqual({
      valid: false,
      reason: 'MALFORMED',
    });

    // lastUsedAt, recorded in the background after the VALID decision.
    const used = await pollUntil(
      async () => (await json('GET', `/tokens/${tokenId}`, jwt)).body?.lastUsedAt,
      (lastUsedAt) => typeof lastUsedAt === 'string',
    );
    expect(typeof used).toBe('string');

    expect((await json('DELETE', `/tokens/${tokenId}`, jwt)).status).toBe(204);
    // Revocation is immediate locally (no revocation window): the next verification sees it.
    expect(await client.verify({ token: secret, method: 'GET', path: '/reports/42' })).toMatchObject({
      valid: false,
      reason: 'REVOKED',
      tokenId,
    });

    // A body that breaks the contract is the API's 400, mapped by the client.
    await expect(client.verify({ token: secret, method: 'GET' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      status: 400,
    });
  });
});
