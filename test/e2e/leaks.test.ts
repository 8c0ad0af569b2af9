import { createSign, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../lambdas/core/leaks.js';
import { findFreePort } from '../../local/emulators.js';
import { pollUntil } from '../support/time.js';
import { type StackProcess, spawnLocalStack, stackTestTimeout } from './local-stack-process.js';

// Leaked tokens through the local stack as `npm start` runs it (docs/leaks.md): GitHub's signed report
// goes through the local gateway to the handler, so the body the handler verifies is the one the
// gateway read off the socket, byte for byte (non-ASCII, unusual spacing). The key endpoint is a
// server of this file on 127.0.0.1, given to the stack as `leaksPublicKeysUrl` (LOCAL_CDK_CONTEXT).

const KEY_ID = 'e2e0000000000000000000000000000000000000000000000000000000000001';
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const sign = (body: string) => createSign('sha256').update(body).sign(privateKey).toString('base64');

describe('leaked tokens through the local gateway', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'atk-leaks-e2e-'));
  let stack: StackProcess | undefined;
  let keyServer: Server | undefined;
  let gateway = '';
  let ses = '';
  let jwt = '';

  beforeAll(async () => {
    keyServer = createServer((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(
        JSON.stringify({
          public_keys: [
            {
              key_identifier: KEY_ID,
              key: publicKey.export({ type: 'spki', format: 'pem' }),
              is_current: true,
            },
          ],
        }),
      );
    });
    const server = keyServer;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const keysUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/meta/public_keys/secret_scanning`;
    const [gatewayPort, dynamoPort, sesPort] = [
      await findFreePort(),
      await findFreePort(),
      await findFreePort(),
    ];
    gateway = `http://127.0.0.1:${gatewayPort}`;
    ses = `http://127.0.0.1:${sesPort}`;
    stack = spawnLocalStack({
      LOCAL_GATEWAY_PORT: String(gatewayPort),
      LOCAL_DYNAMODB_PORT: String(dynamoPort),
      LOCAL_SES_PORT: String(sesPort),
      LOCAL_DATA_DIR: dataDir,
      LOCAL_REVOCATION_WINDOW_SECONDS: '',
      LOCAL_CDK_CONTEXT: JSON.stringify({ leaksPublicKeysUrl: keysUrl }),
    });
    await stack.ready;
    const session = await fetch(`${gateway}/_local/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'leaky@example.com', accountId: 'acme', role: 'member' }),
    });
    jwt = ((await session.json()) as { jwt: string }).jwt;
  }, stackTestTimeout());

  afterAll(async () => {
    stack?.kill();
    await new Promise((resolve) => (keyServer === undefined ? resolve(undefined) : keyServer.close(resolve)));
    rmSync(dataDir, { recursive: true, force: true });
  });

  const postReport = (body: string, signature: string) =>
    fetch(`${gateway}/leaks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'Github-Public-Key-Identifier': KEY_ID,
        'Github-Public-Key-Signature': signature,
      },
      body,
    });

  it(
    'a signed report as GitHub sends it → revoked (the token stops at the gateway), emailed, true_positive; a tampered one → 401',
    async () => {
      const created = await fetch(`${gateway}/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'leaky', scopes: ['reports:read'], expiresInDays: 7 }),
      });
      const { id, secret } = (await created.json()) as { id: string; secret: string };
      const url = 'https://github.com/ökö/app/blob/1/.env';
      // Spacing and key order as GitHub's own sample: any re-serialisation would break the signature.
      const body = `[{"source":"commit","token":"${secret}","type":"acme_access_token","url":"${url}"}]\n`;

      const tampered = await postReport(body.replace('commit', 'conmit'), sign(body));
      expect(tampered.status).toBe(401);

      const response = await postReport(body, sign(body));
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual([
        { token_hash: sha256Hex(secret), token_type: 'acme_access_token', label: 'true_positive' },
      ]);

      const token = await fetch(`${gateway}/tokens/${id}`, { headers: { authorization: `Bearer ${jwt}` } });
      expect(((await token.json()) as { status: string }).status).toBe('revoked');
      const demo = await fetch(`${gateway}/demo/reports/daily`, {
        headers: { authorization: `Bearer ${secret}` },
      });
      expect(demo.status).toBe(401);

      const emails = await pollUntil(
        async () =>
          (
            (await (await fetch(`${ses}/store`)).json()) as {
              emails: Array<{ subject: string; body: { text?: string } }>;
            }
          ).emails,
        (all) => all.some((email) => email.subject.includes('found in public')),
      );
      const leak = emails.find((email) => email.subject.includes('found in public'));
      expect(leak?.body.text).toContain(`found in public at ${url}`);
      expect(JSON.stringify(emails)).not.toContain(secret);
    },
    stackTestTimeout(),
  );
});
