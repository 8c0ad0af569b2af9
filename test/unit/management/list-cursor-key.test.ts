import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditEventToItem } from '../../../lambdas/adapters/audit-items.js';
import { ensureLocalKeyFile } from '../../../lambdas/adapters/file-key-source.js';
import { tokenToItem } from '../../../lambdas/adapters/items.js';
import { tokenAuditEvent } from '../../../lambdas/core/audit.js';
import { CURSOR_KEY_PURPOSE } from '../../../lambdas/core/key-context.js';
import type { RouteHandler } from '../../../lambdas/http/route-handler.js';
import { listTokensRoute } from '../../../lambdas/list-tokens/route.js';
import { ENV } from '../../../lambdas/runtime/env.js';
import { cursorKeySourceFromEnv } from '../../../lambdas/runtime/key-source.js';
import { stubHandlerEnv } from '../../support/env.js';
import { managementDeps } from '../../support/management-deps.js';
import { invoke, proxyEvent } from '../../support/proxy-events.js';
import { tokenRecord } from './records.js';

// The list handlers sign cursors with a data key of their own (#11, least privilege): in AWS they
// decrypt the cursor key's ciphertext under its own encryption context and never the HMAC key that
// hashes secrets; locally the key is `cursor.key` next to the HMAC key file.
//
// These are facts of the wiring (which key each deployed handler builds from its environment), so
// the AWS case loads the real handler.ts modules with the environment the stack gives them: one test
// per list handler. The local case builds the cursor key source from an environment object.

const CURSOR_CIPHERTEXT = Buffer.from('fake-cursor-ciphertext').toString('base64');
const dynamo = mockClient(DynamoDBDocumentClient);
const kms = mockClient(KMSClient);
const item = tokenToItem(tokenRecord());
const lastKeyOf = (row: Record<string, unknown>) => ({
  pk: row.pk,
  sk: row.sk,
  gsi1pk: row.gsi1pk,
  gsi1sk: row.gsi1sk,
});
const tokenPage = { Items: [item], LastEvaluatedKey: lastKeyOf(item) };
const auditItem = auditEventToItem(
  tokenAuditEvent(
    'token.updated',
    {
      userId: 'user-1',
      accountId: 'acct-1',
      role: 'member',
      email: undefined,
      sourceIp: '198.51.100.7',
      userAgent: 'vitest',
    },
    tokenRecord(),
    '2025-03-01T12:01:00.000Z',
  ),
  365,
);
const auditPage = { Items: [auditItem], LastEvaluatedKey: lastKeyOf(auditItem) };

const loadListTokens = async () =>
  ((await import('../../../lambdas/list-tokens/handler.js')) as { handler: RouteHandler }).handler;
const loadListAuditEvents = async () =>
  ((await import('../../../lambdas/list-audit-events/handler.js')) as { handler: RouteHandler }).handler;

async function pageThrough(handler: RouteHandler, resource: string): Promise<void> {
  const first = await invoke(handler, proxyEvent({ method: 'GET', resource, query: { limit: '1' } }));
  expect(first.status).toBe(200);
  const cursor = (first.json as { nextCursor: string | null }).nextCursor;
  expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
  const second = await invoke(
    handler,
    proxyEvent({ method: 'GET', resource, query: { limit: '1', cursor: String(cursor) } }),
  );
  expect(second.status).toBe(200);
}

afterEach(() => {
  dynamo.reset();
  kms.reset();
});

afterAll(() => {
  vi.unstubAllEnvs();
});

describe('list handlers in AWS: the cursor key, decrypted under its own context', () => {
  beforeAll(() => {
    stubHandlerEnv({ keySource: 'kms', tableName: 'tokens-table' });
    // As the stack deploys them: the cursor key only (test/infra/stack.test.ts checks the template).
    vi.stubEnv(ENV.hmacKeyCiphertext, '');
    vi.stubEnv(ENV.hmacKeyVersion, '');
  });

  const cases = [
    ['listTokens', loadListTokens, '/tokens', tokenPage],
    ['listAuditEvents', loadListAuditEvents, '/audit-events', auditPage],
  ] as const;
  for (const [name, load, resource, page] of cases) {
    it(`${name}: decrypts only the cursor key (purpose ${CURSOR_KEY_PURPOSE}) and pages with it`, async () => {
      // Fails before the fix: the handler required HMAC_KEY_CIPHERTEXT and decrypted the HMAC key.
      const handler = await load();
      kms.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(32).fill(5) });
      dynamo.on(QueryCommand).resolves(page);
      await pageThrough(handler, resource);
      const decrypts = kms.commandCalls(DecryptCommand).map((call) => call.args[0].input);
      expect(decrypts).toHaveLength(1);
      expect(decrypts[0]?.EncryptionContext).toEqual({ purpose: CURSOR_KEY_PURPOSE, keyVersion: 'v1' });
      expect(Buffer.from(decrypts[0]?.CiphertextBlob ?? new Uint8Array()).toString('base64')).toBe(
        CURSOR_CIPHERTEXT,
      );
    });
  }
});

describe('list handlers locally: cursor.key next to the HMAC key file', () => {
  it('is made on first use, is not the HMAC key, and signs cursors', async () => {
    // The local stack's HMAC key file, alone in its directory (.data/ in `npm start`).
    const keyFile = join(mkdtempSync(join(tmpdir(), 'atk-key-')), 'hmac.key');
    ensureLocalKeyFile(keyFile);
    const cursorKey = cursorKeySourceFromEnv({ [ENV.hmacKeyFile]: keyFile });
    const handler = listTokensRoute({ ...managementDeps(), cursorKey });
    const cursorKeyFile = readFileSync(join(dirname(keyFile), 'cursor.key'), 'utf8');
    expect(Buffer.from(cursorKeyFile.trim(), 'base64')).toHaveLength(32);
    expect(cursorKeyFile).not.toBe(readFileSync(keyFile, 'utf8'));
    dynamo.on(QueryCommand).resolves(tokenPage);
    await pageThrough(handler, '/tokens');
    expect(kms.calls()).toHaveLength(0);
  });
});
