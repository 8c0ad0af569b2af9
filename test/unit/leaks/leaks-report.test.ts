import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { credentialFor } from '../../../lambdas/adapters/items.js';
import { githubLeakReportSchema } from '../../../lambdas/contract/leak-schemas.js';
import {
  handleGithubReport,
  type LeakDeps,
  revokeLeakedSecret,
  sha256Hex,
} from '../../../lambdas/core/leaks.js';
import type { CredentialRecord, TokenRecord } from '../../../lambdas/core/model.js';
import { tokenEventFromChange } from '../../../lambdas/core/notifications/events.js';
import { renderEmail } from '../../../lambdas/core/notifications/template.js';
import type { CredentialReader, KeySource } from '../../../lambdas/core/ports.js';
import { generateToken } from '../../../lambdas/core/token-format.js';
import { FUZZ_RUNS, nastyString } from '../../support/fuzz-arbitraries.js';
import { MemoryTokenRepository, TestClock, testCaller } from '../core/memory-ports.js';
import { HMAC_KEY, issueToken } from '../notifications/support.js';

// The leak use case on in-memory ports: what a report revokes and answers, that garbage costs no
// I/O, and the owner's email. The HTTP routes, the signature and DynamoDB: test/integration/leaks.test.ts.

const GITHUB = {
  kind: 'secret-scanning',
  sourceIp: '192.30.252.1',
  userAgent: 'GitHub-Secret-Scanning',
} as const;
const NOW = new Date('2026-11-30T12:00:00.000Z');

function setup() {
  const repository = new MemoryTokenRepository();
  const credentials = new Map<string, CredentialRecord>();
  let lookups = 0;
  let keyReads = 0;
  const reader: CredentialReader = {
    findByHash: async (hash) => {
      lookups += 1;
      return credentials.get(hash);
    },
  };
  const keySource: KeySource = {
    getKey: async () => {
      keyReads += 1;
      return HMAC_KEY;
    },
  };
  const deps: LeakDeps = {
    credentials: reader,
    keySource,
    repository,
    clock: new TestClock(NOW),
    tokenPrefix: 'atk',
  };
  const add = (overrides: Partial<TokenRecord> = {}) => {
    const issued = issueToken({ ownerEmail: 'owner@example.com', ...overrides }, NOW);
    repository.tokens.set(issued.token.id, issued.token);
    credentials.set(issued.token.secretHash, credentialFor(issued.token));
    return issued;
  };
  return { deps, repository, add, io: () => ({ lookups, keyReads }) };
}

const match = (token: string, url = 'https://github.com/o/r/blob/abc/config.yml') => ({
  token,
  type: 'access_tokens',
  url,
  source: 'content',
});

describe('GitHub reports (core)', () => {
  it('an active token → revoked, true_positive with the SHA-256 of the token, audit by secret scanning with url and source', async () => {
    const { deps, repository, add } = setup();
    const { token, secret } = add();
    const result = await handleGithubReport(deps, GITHUB, [match(secret)]);
    expect(result.feedback).toEqual([
      { token_hash: sha256Hex(secret), token_type: 'access_tokens', label: 'true_positive' },
    ]);
    expect(result.revokedTokenIds).toEqual([token.id]);
    const revoked = repository.tokens.get(token.id);
    expect(revoked?.state).toBe('revoked');
    expect(revoked?.lastChange.leak).toEqual({
      reportedBy: 'secret-scanning',
      url: 'https://github.com/o/r/blob/abc/config.yml',
      source: 'content',
    });
    const [event] = repository.auditLog.all();
    expect(event?.action).toBe('token.revoked');
    expect(event?.actor).toEqual({
      userId: null,
      role: null,
      sourceIp: '192.30.252.1',
      userAgent: 'GitHub-Secret-Scanning',
    });
    expect(event?.details).toMatchObject({
      reportedBy: 'secret scanning',
      url: match(secret).url,
      source: 'content',
    });
    expect(JSON.stringify([...repository.tokens.values(), event])).not.toContain(secret);
  });

  it('delivered again: the same answer, nothing changed', async () => {
    const { deps, repository, add } = setup();
    const { token, secret } = add();
    const first = await handleGithubReport(deps, GITHUB, [match(secret)]);
    const afterFirst = repository.tokens.get(token.id);
    const again = await handleGithubReport(deps, GITHUB, [match(secret)]);
    expect(again.feedback).toEqual(first.feedback);
    expect(again.revokedTokenIds).toEqual([]);
    expect(repository.tokens.get(token.id)).toEqual(afterFirst);
    expect(repository.auditLog.all()).toHaveLength(1);
  });

  it('a token revoked (or expired) before, and an unknown one: false_positive, nothing changed', async () => {
    const { deps, repository, add } = setup();
    const revoked = add({ state: 'revoked', revokedAt: NOW.toISOString() });
    const expired = add({ expiresAt: new Date(NOW.getTime() - 1000).toISOString() });
    const unknown = generateToken('atk').secret;
    const before = structuredClone([...repository.tokens.values()]);
    const result = await handleGithubReport(deps, GITHUB, [
      match(revoked.secret),
      match(expired.secret),
      match(unknown),
    ]);
    expect(result.feedback.map((entry) => entry.label)).toEqual([
      'false_positive',
      'false_positive',
      'false_positive',
    ]);
    expect([...repository.tokens.values()]).toEqual(before);
    expect(repository.auditLog.all()).toHaveLength(0);
  });

  it('the same secret listed twice is handled once; each entry gets its feedback, in order', async () => {
    const { deps, repository, add } = setup();
    const { secret } = add();
    const result = await handleGithubReport(deps, GITHUB, [
      match(secret, 'https://a'),
      match('junk'),
      match(secret, 'https://b'),
    ]);
    expect(result.feedback.map((entry) => entry.label)).toEqual([
      'true_positive',
      'false_positive',
      'true_positive',
    ]);
    expect(repository.auditLog.all()).toHaveLength(1);
  });

  it('many matches at once are all handled', async () => {
    const { deps, repository, add } = setup();
    const issued = Array.from({ length: 200 }, () => add());
    const result = await handleGithubReport(
      deps,
      GITHUB,
      issued.map((one) => match(one.secret)),
    );
    expect(result.feedback.every((entry) => entry.label === 'true_positive')).toBe(true);
    expect([...repository.tokens.values()].every((token) => token.state === 'revoked')).toBe(true);
  });

  it('property: a string that is not a well-formed token costs no I/O and is a false_positive with its SHA-256', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            nastyString,
            fc.string(),
            fc.string().map((rest) => `atk_${rest}`),
          ),
          { maxLength: 20 },
        ),
        async (strings) => {
          const { deps, io } = setup();
          const result = await handleGithubReport(
            deps,
            GITHUB,
            strings.map((token) => match(token)),
          );
          expect(io()).toEqual({ lookups: 0, keyReads: 0 });
          expect(result.feedback).toEqual(
            strings.map((token) => ({
              token_hash: sha256Hex(token),
              token_type: 'access_tokens',
              label: 'false_positive',
            })),
          );
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('the report parser (GitHub partner format)', () => {
  const matchArbitrary = fc.record({
    token: fc.string({ maxLength: 200 }),
    type: fc.string({ maxLength: 50 }),
    url: fc.oneof(fc.constant(''), fc.webUrl()),
    source: fc.constantFrom('content', 'commit', 'pull_request_comment', 'npm', 'unknown'),
  });

  it('property: every array GitHub can send parses back to the same matches, in order', () => {
    fc.assert(
      fc.property(fc.array(matchArbitrary, { maxLength: 50 }), (matches) => {
        const parsed = githubLeakReportSchema.parse(JSON.parse(JSON.stringify(matches)));
        expect(parsed).toEqual(matches);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('property: anything that is not an array of matches is refused, never thrown past safeParse', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue().filter((value) => !Array.isArray(value) || value.length > 0),
          fc.array(fc.record({ token: fc.integer() })),
        ),
        (value) => {
          const valid =
            Array.isArray(value) &&
            value.every(
              (entry) =>
                typeof entry === 'object' &&
                entry !== null &&
                typeof (entry as { token?: unknown }).token === 'string' &&
                typeof (entry as { type?: unknown }).type === 'string',
            );
          expect(githubLeakReportSchema.safeParse(value).success).toBe(valid);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('url and source may be missing or empty (GitHub: "may be empty")', () => {
    expect(githubLeakReportSchema.parse([{ token: 't', type: 'x' }])).toEqual([
      { token: 't', type: 'x', url: '', source: '' },
    ]);
  });
});

describe('POST /leaks (core): own account only', () => {
  it('any role of the account revokes; another account gets not_ours and changes nothing', async () => {
    const { deps, repository, add } = setup();
    const { token, secret } = add({ userId: 'bob' });
    const stranger = testCaller({ accountId: 'acct-2', role: 'admin' });
    await expect(revokeLeakedSecret(deps, { kind: 'user', caller: stranger }, secret, {})).resolves.toEqual({
      outcome: 'not_ours',
    });
    expect(repository.tokens.get(token.id)?.state).toBe('active');
    const viewer = testCaller({ userId: 'carol', role: 'viewer' });
    await expect(
      revokeLeakedSecret(deps, { kind: 'user', caller: viewer }, secret, {
        url: 'https://pastebin.example/x',
      }),
    ).resolves.toEqual({ outcome: 'revoked', tokenId: token.id });
    await expect(
      revokeLeakedSecret(deps, { kind: 'user', caller: viewer }, secret, {}),
    ).resolves.toMatchObject({
      outcome: 'already_inactive',
      tokenId: token.id,
    });
    expect(repository.auditLog.all()[0]?.actor.userId).toBe('carol');
  });
});

describe('the owner email of a leak revocation', () => {
  it('says where it was found, who reported it, that it is revoked and what to do; never the secret', () => {
    const { token, secret } = issueToken({ ownerEmail: 'owner@example.com' }, NOW);
    const revoked: TokenRecord = {
      ...token,
      state: 'revoked',
      revokedAt: NOW.toISOString(),
      lastChange: {
        action: 'revoked',
        at: NOW.toISOString(),
        actorUserId: 'secret-scanning',
        actorRole: null,
        sourceIp: '192.30.252.1',
        userAgent: 'GitHub',
        leak: {
          reportedBy: 'secret-scanning',
          url: 'https://github.com/o/r/blob/abc/.env',
          source: 'commit',
        },
      },
    };
    const event = tokenEventFromChange({
      eventName: 'MODIFY',
      oldToken: token,
      newToken: revoked,
      removedByService: false,
      bulk: false,
    });
    if (event === undefined) throw new Error('no event');
    const email = renderEmail(event);
    expect(email.subject).toBe(
      `[Access Tokens] Access token "${token.name}" was found in public and revoked`,
    );
    expect(email.text).toContain(
      'found in public at https://github.com/o/r/blob/abc/.env, reported by GitHub secret scanning',
    );
    expect(email.text).toContain('Found in:');
    expect(email.text).toContain('What to do next: create a new token');
    expect(email.text).not.toContain('An administrator');
    for (const body of [email.subject, email.text, email.html]) {
      expect(body).not.toContain(secret);
      expect(body).not.toContain(token.secretHash);
    }
  });

  it('a plain revocation email is unchanged', () => {
    const { token } = issueToken({}, NOW);
    const revoked: TokenRecord = {
      ...token,
      state: 'revoked',
      lastChange: { ...token.lastChange, action: 'revoked' },
    };
    const event = tokenEventFromChange({
      eventName: 'MODIFY',
      oldToken: token,
      newToken: revoked,
      removedByService: false,
      bulk: false,
    });
    expect(event?.leak).toBeUndefined();
    expect(event && renderEmail(event).subject).toBe(
      `[Access Tokens] Access token "${token.name}" was revoked`,
    );
  });
});
