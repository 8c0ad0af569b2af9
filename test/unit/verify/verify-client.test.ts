import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { regionOfHost, VerifyClient, VerifyError } from '../../../lib/verify-client.js';

// The verify API's client (lib/verify-client.ts): the call it makes is SigV4-signed for
// `execute-api`, and the signature is recomputed here by hand from the AWS documentation's algorithm
// ("Create a signed AWS API request": canonical request, string to sign, derived key) with a fixed
// credential and time, so a signer that signed the wrong service, region, path or body would fail.
// Errors come back as VerifyError with the API's code.

const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const NOW = new Date('2026-11-30T12:34:56Z');
const URL_BASE = 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/v1/';
const DECISION = {
  valid: true,
  reason: 'VALID',
  tokenId: 'tok_0000000000000000000001',
  userId: 'user-1',
  accountId: 'acct-1',
  scopes: ['content:read'],
  type: 'standard',
};

interface Sent {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

function fakeFetch(status: number, body: string) {
  const sent: Sent[] = [];
  const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
    sent.push({
      url: String(url),
      method: String(init?.method),
      headers: Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>)),
      body: String(init?.body),
    });
    return new Response(body, { status, headers: { 'content-type': 'application/json' } });
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, sent };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const hmac = (key: Buffer | string, text: string) => createHmac('sha256', key).update(text).digest();

/** SigV4 by hand, for a request whose headers (host included) are all signed. */
function expectedAuthorization(sent: Sent, host: string, region: string): string {
  const headers: Record<string, string> = { host };
  for (const [name, value] of Object.entries(sent.headers)) {
    if (name.toLowerCase() !== 'authorization') headers[name.toLowerCase()] = value.trim();
  }
  const names = Object.keys(headers).sort();
  const amzDate = headers['x-amz-date'] ?? '';
  const day = amzDate.slice(0, 8);
  const canonical = [
    sent.method,
    new URL(sent.url).pathname,
    '',
    ...names.map((name) => `${name}:${headers[name]}`),
    '',
    names.join(';'),
    sha256(sent.body),
  ].join('\n');
  const scope = `${day}/${region}/execute-api/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${CREDENTIALS.secretAccessKey}`, day), region), 'execute-api'),
    'aws4_request',
  );
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${CREDENTIALS.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
}

describe('VerifyClient', () => {
  it('POSTs the body to <url>/verify, SigV4-signed for execute-api in the host’s region, and returns the decision', async () => {
    const { fetch, sent } = fakeFetch(200, JSON.stringify(DECISION));
    const client = new VerifyClient({ url: URL_BASE, credentials: CREDENTIALS, fetch, now: () => NOW });
    const input = { token: 'atk_secret', method: 'GET', path: '/content/1', sourceIp: '203.0.113.9' };
    expect(await client.verify(input)).toEqual(DECISION);
    const [call] = sent;
    if (call === undefined) throw new Error('no call');
    expect(call.url).toBe(`${URL_BASE}verify`);
    expect(call.method).toBe('POST');
    expect(JSON.parse(call.body)).toEqual(input);
    expect(call.headers['x-amz-date']).toBe('20261130T123456Z');
    expect(call.headers).not.toHaveProperty('host'); // fetch sends it; it is signed all the same
    const authorization = String(call.headers.authorization);
    expect(authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261130\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(authorization).toBe(
      expectedAuthorization(call, 'abc123defg.execute-api.eu-west-1.amazonaws.com', 'eu-west-1'),
    );
  });

  it('the signature covers the body: another body, another signature', async () => {
    const { fetch, sent } = fakeFetch(200, JSON.stringify(DECISION));
    const client = new VerifyClient({ url: URL_BASE, credentials: CREDENTIALS, fetch, now: () => NOW });
    await client.verify({ token: 'atk_one' });
    await client.verify({ token: 'atk_two' });
    const [one, two] = sent;
    expect(one?.headers.authorization).not.toBe(two?.headers.authorization);
    const tampered = { ...(one as Sent), body: String(two?.body) };
    expect(expectedAuthorization(tampered, new URL(URL_BASE).host, 'eu-west-1')).not.toBe(
      one?.headers.authorization,
    );
  });

  it('a custom domain needs the region; a provider of credentials is called per call', async () => {
    expect(() => new VerifyClient({ url: 'https://tokens.example.com/', credentials: CREDENTIALS })).toThrow(
      /region/,
    );
    const { fetch, sent } = fakeFetch(200, JSON.stringify(DECISION));
    const provider = vi.fn(async () => CREDENTIALS);
    const client = new VerifyClient({
      url: 'https://tokens.example.com/api',
      region: 'us-east-2',
      credentials: provider,
      fetch,
      now: () => NOW,
    });
    await client.verify({ token: 'atk_x' });
    expect(provider).toHaveBeenCalled();
    expect(sent[0]?.url).toBe('https://tokens.example.com/api/verify');
    expect(sent[0]?.headers.authorization).toBe(
      expectedAuthorization(sent[0] as Sent, 'tokens.example.com', 'us-east-2'),
    );
    expect(regionOfHost('abc.execute-api.ap-southeast-2.amazonaws.com')).toBe('ap-southeast-2');
    expect(regionOfHost('example.com')).toBeUndefined();
  });

  it('credentials null: unsigned (the local stack, from loopback)', async () => {
    const { fetch, sent } = fakeFetch(200, JSON.stringify({ valid: false, reason: 'MALFORMED' }));
    const client = new VerifyClient({ url: 'http://127.0.0.1:4010', credentials: null, fetch });
    expect(await client.verify({ token: 'nope' })).toEqual({ valid: false, reason: 'MALFORMED' });
    expect(sent[0]?.url).toBe('http://127.0.0.1:4010/verify');
    expect(sent[0]?.headers).toEqual({ 'content-type': 'application/json' });
  });

  it('maps errors: the API’s code and status, the gateway’s, a bare status, a network failure, a 200 without a decision', async () => {
    const cases: [number, string, string][] = [
      [403, '{"error":{"code":"FORBIDDEN","message":"Not allowed"}}', 'FORBIDDEN'],
      [404, '{"error":{"code":"NOT_FOUND","message":"No such route"}}', 'NOT_FOUND'],
      [400, '{"error":{"code":"VALIDATION_FAILED","message":"Invalid request body"}}', 'VALIDATION_FAILED'],
      [502, 'Bad Gateway', 'HTTP_502'],
      [403, '{"message":"The security token included in the request is expired"}', 'HTTP_403'],
      [200, '{"valid":"yes"}', 'BAD_RESPONSE'],
    ];
    for (const [status, body, code] of cases) {
      const { fetch } = fakeFetch(status, body);
      const client = new VerifyClient({ url: URL_BASE, credentials: CREDENTIALS, fetch });
      const failure = client.verify({ token: 'atk_secret_value' });
      await expect(failure, `${status} ${body}`).rejects.toBeInstanceOf(VerifyError);
      await expect(failure).rejects.toMatchObject({ code, status });
    }
    const offline = vi.fn(async () => {
      throw new TypeError('fetch failed for atk_secret_value');
    });
    const client = new VerifyClient({
      url: URL_BASE,
      credentials: CREDENTIALS,
      fetch: offline as unknown as typeof globalThis.fetch,
    });
    const failure = client.verify({ token: 'atk_secret_value' });
    await expect(failure).rejects.toMatchObject({ code: 'NETWORK', status: undefined });
    await expect(failure).rejects.toSatisfy((error: Error) => !error.message.includes('atk_secret_value'));
  });
});
