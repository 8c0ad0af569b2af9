import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findFreePort } from '../../../local/emulators.js';
import {
  isLoopback,
  LOCAL_IAM_PRINCIPAL,
  type RouteTarget,
  type RunningGateway,
  startGateway,
} from '../../../local/gateway.js';
import type { LocalFunction } from '../../../local/lambda-runtime.js';
import type { GatewayRoute } from '../../../local/routing.js';

// The local gateway's IAM routes (POST /verify, docs/verify.md): no SigV4 is checked locally, so
// they answer loopback callers only, naming a local stand-in principal, and refuse (403) anyone
// else, over real connections.

const API = { apiId: 'local', stage: 'local', stageVariables: null };

const echo: LocalFunction = {
  name: 'verifyToken',
  entry: 'fake.ts',
  invoke: vi.fn(async (event: unknown) => ({ statusCode: 200, body: JSON.stringify(event) })),
};
const routes: GatewayRoute<RouteTarget>[] = [
  {
    method: 'POST',
    path: '/verify',
    target: { kind: 'lambda', api: API, fn: echo, authorizer: undefined, iam: true },
  },
];

/** An address of this machine that is not loopback, if it has one. */
const external = Object.values(networkInterfaces())
  .flat()
  .find((address) => address !== undefined && !address.internal && address.family === 'IPv4')?.address;

let gateway: RunningGateway | undefined;
afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
});

const post = (url: string) =>
  fetch(`${url}/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"token":"x"}',
  });

describe('IAM routes at the local gateway', () => {
  it('loopback: served without SigV4, the function sees the local principal', async () => {
    gateway = await startGateway({ port: await findFreePort(), routes, log: () => undefined });
    const response = await post(gateway.url);
    expect(response.status).toBe(200);
    const event = (await response.json()) as { requestContext: { identity: Record<string, unknown> } };
    expect(event.requestContext.identity).toMatchObject({
      userArn: LOCAL_IAM_PRINCIPAL,
      sourceIp: '127.0.0.1',
    });
  });

  it.skipIf(external === undefined)(
    'any other address: 403 in the contract shape, the function not called',
    async () => {
      const host = String(external);
      gateway = await startGateway({ port: await findFreePort(), host, routes, log: () => undefined });
      vi.mocked(echo.invoke).mockClear();
      const response = await post(gateway.url);
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ error: { code: 'FORBIDDEN', message: 'Not allowed' } });
      expect(echo.invoke).not.toHaveBeenCalled();
    },
  );

  it('loopback is 127.0.0.0/8 and ::1, nothing else', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1']) expect(isLoopback(address), address).toBe(true);
    for (const address of [
      '192.0.2.2',
      '10.0.0.1',
      '::2',
      '0.0.0.0',
      '::',
      'fd00::1',
      '127.0.0.1.evil',
      'localhost',
    ]) {
      expect(isLoopback(address), address).toBe(false);
    }
  });
});
