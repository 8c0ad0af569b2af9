import { createSign, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { HttpGithubPublicKeys, REFETCH_INTERVAL_MS } from '../../../lambdas/adapters/github-public-keys.js';
import {
  type GithubPublicKeys,
  isValidGithubSignature,
  verifyGithubReport,
} from '../../../lambdas/core/leaks-signature.js';

// GitHub's secret scanning signature (ECDSA P-256, SHA-256, base64 DER over the raw body) with keys
// this test generates, and the public-keys adapter's cache against an injected fetch.

function ecKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

const github = ecKey();
const stranger = ecKey();
const sign = (body: string | Buffer, key = github.privateKey) =>
  createSign('sha256').update(body).sign(key).toString('base64');

const BODY =
  '[{"token":"atk_x","type":"access_tokens","url":"https://github.com/o/r/blob/1/a.txt","source":"content"}]';

describe('isValidGithubSignature', () => {
  it('accepts the signature of the exact bytes by the key', () => {
    expect(isValidGithubSignature(Buffer.from(BODY), sign(BODY), github.pem)).toBe(true);
  });

  it('refuses a body changed by one byte, reformatted, or with a trailing newline', () => {
    const signature = sign(BODY);
    const tampered = BODY.replace('atk_x', 'atk_y');
    const reformatted = JSON.stringify(JSON.parse(BODY), null, 1);
    for (const body of [tampered, reformatted, `${BODY}\n`]) {
      expect(isValidGithubSignature(Buffer.from(body), signature, github.pem)).toBe(false);
    }
  });

  it('refuses a signature over another body (replay) and one by another key', () => {
    expect(isValidGithubSignature(Buffer.from(BODY), sign('[]'), github.pem)).toBe(false);
    expect(isValidGithubSignature(Buffer.from(BODY), sign(BODY, stranger.privateKey), github.pem)).toBe(
      false,
    );
  });

  it('never throws on garbage: a bad signature, a bad key, a key of another kind', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    const body = Buffer.from(BODY);
    for (const signature of ['', '!!!', 'AAAA', 'x'.repeat(5000), `${sign(BODY)}garbage`]) {
      expect(isValidGithubSignature(body, signature, github.pem)).toBe(false);
    }
    for (const pem of ['', 'not a key', rsa, p384]) {
      expect(isValidGithubSignature(body, sign(BODY), pem)).toBe(false);
    }
  });
});

describe('verifyGithubReport', () => {
  const keysWith = (entries: Record<string, string>) => {
    const keyFor = vi.fn(async (id: string) => entries[id]);
    return { keyFor } satisfies GithubPublicKeys;
  };

  it('ok with the key the identifier names', async () => {
    const keys = keysWith({ 'key-1': stranger.pem, 'key-2': github.pem });
    await expect(
      verifyGithubReport(keys, { keyId: 'key-2', signature: sign(BODY) }, Buffer.from(BODY)),
    ).resolves.toBe('ok');
  });

  it('a wrong key identifier, an unknown one or missing headers are refused', async () => {
    const keys = keysWith({ 'key-1': stranger.pem, 'key-2': github.pem });
    const body = Buffer.from(BODY);
    await expect(verifyGithubReport(keys, { keyId: 'key-1', signature: sign(BODY) }, body)).resolves.toBe(
      'bad-signature',
    );
    await expect(verifyGithubReport(keys, { keyId: 'key-9', signature: sign(BODY) }, body)).resolves.toBe(
      'unknown-key',
    );
    await expect(verifyGithubReport(keys, { keyId: undefined, signature: sign(BODY) }, body)).resolves.toBe(
      'missing-headers',
    );
    await expect(verifyGithubReport(keys, { keyId: 'key-2', signature: undefined }, body)).resolves.toBe(
      'missing-headers',
    );
  });

  it('a key identifier that cannot be one is never looked up (no key refetch for garbage)', async () => {
    const keys = keysWith({});
    for (const keyId of ['../../etc', 'a b', 'x'.repeat(500)]) {
      await expect(verifyGithubReport(keys, { keyId, signature: 'AAAA' }, Buffer.from(BODY))).resolves.toBe(
        'unknown-key',
      );
    }
    expect(keys.keyFor).not.toHaveBeenCalled();
  });
});

describe('HttpGithubPublicKeys', () => {
  const document = (ids: string[]) => ({
    public_keys: ids.map((id) => ({ key_identifier: id, key: `pem-${id}`, is_current: true })),
  });

  function fakeFetch(responses: Array<() => Response>) {
    let calls = 0;
    const fetchFn = vi.fn(async (_url: string | URL | Request, _init?: RequestInit) => {
      const next = responses[Math.min(calls, responses.length - 1)];
      calls += 1;
      if (next === undefined) throw new Error('no response');
      return next();
    });
    return fetchFn;
  }
  const json = (body: unknown) => () => Response.json(body);

  it('fetches once, then answers known keys from memory', async () => {
    const fetchFn = fakeFetch([json(document(['a', 'b']))]);
    const keys = new HttpGithubPublicKeys('https://keys.test/k', { fetch: fetchFn as typeof fetch });
    await expect(keys.keyFor('a')).resolves.toBe('pem-a');
    await expect(keys.keyFor('b')).resolves.toBe('pem-b');
    expect(fetchFn).toHaveBeenCalledTimes(1);
    expect(String(fetchFn.mock.calls[0]?.[0])).toBe('https://keys.test/k');
  });

  it('an unknown key id refetches once (a new key), then not again within the interval', async () => {
    let now = 1_000_000;
    const fetchFn = fakeFetch([json(document(['a'])), json(document(['a', 'new']))]);
    const keys = new HttpGithubPublicKeys('https://keys.test/k', {
      fetch: fetchFn as typeof fetch,
      now: () => now,
    });
    await keys.keyFor('a');
    now += REFETCH_INTERVAL_MS;
    await expect(keys.keyFor('new')).resolves.toBe('pem-new');
    expect(fetchFn).toHaveBeenCalledTimes(2);
    // A flood of made-up ids costs nothing more within the interval.
    for (let i = 0; i < 20; i++) await expect(keys.keyFor(`made-up-${i}`)).resolves.toBeUndefined();
    expect(fetchFn).toHaveBeenCalledTimes(2);
    now += REFETCH_INTERVAL_MS;
    await keys.keyFor('made-up-again');
    expect(fetchFn).toHaveBeenCalledTimes(3);
  });

  it('concurrent first lookups share one fetch', async () => {
    const fetchFn = fakeFetch([json(document(['a']))]);
    const keys = new HttpGithubPublicKeys('https://keys.test/k', { fetch: fetchFn as typeof fetch });
    await expect(Promise.all([keys.keyFor('a'), keys.keyFor('a'), keys.keyFor('zz')])).resolves.toEqual([
      'pem-a',
      'pem-a',
      undefined,
    ]);
    expect(fetchFn).toHaveBeenCalledTimes(1);
  });

  it('a failing endpoint is an error (a 500: GitHub delivers again), not "unknown key", and is not hammered', async () => {
    let now = 5_000_000;
    const fetchFn = fakeFetch([() => new Response('busy', { status: 503 }), json(document(['a']))]);
    const keys = new HttpGithubPublicKeys('https://keys.test/k', {
      fetch: fetchFn as typeof fetch,
      now: () => now,
    });
    await expect(keys.keyFor('a')).rejects.toThrow(/HTTP 503/);
    await expect(keys.keyFor('a')).rejects.toThrow(/unavailable/);
    expect(fetchFn).toHaveBeenCalledTimes(1);
    now += REFETCH_INTERVAL_MS;
    await expect(keys.keyFor('a')).resolves.toBe('pem-a');
  });

  it('a document of another shape is an error', async () => {
    const fetchFn = fakeFetch([json({ keys: [] })]);
    const keys = new HttpGithubPublicKeys('https://keys.test/k', { fetch: fetchFn as typeof fetch });
    await expect(keys.keyFor('a')).rejects.toThrow();
  });
});
