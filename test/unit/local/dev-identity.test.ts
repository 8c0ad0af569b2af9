import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JwtVerifier } from 'aws-jwt-verify';
import { describe, expect, it } from 'vitest';
import { identityFromClaims } from '../../../lambdas/adapters/jwt-identity.js';
import {
  DEV_AUDIENCE,
  DevIdentityProvider,
  loadOrCreateSigningKey,
  SESSION_LIFETIME_SECONDS,
  userIdForEmail,
} from '../../../local/dev-identity.js';
import { handleSessionRequest } from '../../../local/dev-identity-routes.js';

const ISSUER = 'http://127.0.0.1:4010/_local';
const CLAIMS = { accountId: 'custom:account_id', role: 'custom:role', email: 'email' };
const NOW = Date.parse('2025-03-01T12:00:00Z');

function provider(now = () => NOW) {
  const keyPath = join(mkdtempSync(join(tmpdir(), 'dev-identity-')), 'key.pem');
  const key = loadOrCreateSigningKey(keyPath);
  return {
    keyPath,
    provider: new DevIdentityProvider(key, { issuer: ISSUER, audience: DEV_AUDIENCE, claims: CLAIMS }, now),
  };
}

describe('the dev identity provider', () => {
  it('issues RS256 JWTs that aws-jwt-verify accepts with its JWKS, carrying the configured claims', async () => {
    const { provider: idp } = provider(Date.now);
    const session = idp.issueSession({ email: 'ana@example.com', accountId: 'acme', role: 'member' });
    const verifier = JwtVerifier.create({
      issuer: ISSUER,
      audience: DEV_AUDIENCE,
      jwksUri: `${ISSUER}/jwks`,
    });
    verifier.cacheJwks(idp.jwks() as Parameters<typeof verifier.cacheJwks>[0]);
    const payload = await verifier.verify(session.jwt);
    expect(identityFromClaims(payload, CLAIMS)).toEqual({
      userId: userIdForEmail('ana@example.com'),
      accountId: 'acme',
      role: 'member',
      email: 'ana@example.com',
      // The JWT authorizer compares it with the user's latest access switch.
      issuedAt: payload.iat,
    });
    expect(session.userId).toBe(payload.sub);
  });

  it('sessions last 8 hours', () => {
    const { provider: idp } = provider();
    const session = idp.issueSession({ email: 'ana@example.com', accountId: 'acme', role: 'viewer' });
    const payload = JSON.parse(Buffer.from(session.jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
    expect(payload.exp - payload.iat).toBe(SESSION_LIFETIME_SECONDS);
    expect(session.expiresAt).toBe(new Date(NOW + SESSION_LIFETIME_SECONDS * 1000).toISOString());
  });

  it('derives a stable user id from the email, unless one is given', () => {
    const { provider: idp } = provider();
    const a = idp.issueSession({ email: 'Ana@Example.com', accountId: 'acme', role: 'member' });
    const b = idp.issueSession({ email: 'ana@example.com', accountId: 'other', role: 'admin' });
    expect(a.userId).toBe(b.userId);
    expect(
      idp.issueSession({ email: 'ana@example.com', accountId: 'a', role: 'admin', userId: 'u-7' }).userId,
    ).toBe('u-7');
  });

  it('keeps its key pair on disk (owner-only), so sessions survive a restart', () => {
    const { keyPath, provider: first } = provider();
    const second = new DevIdentityProvider(loadOrCreateSigningKey(keyPath), first.settings);
    expect(second.jwks()).toEqual(first.jwks());
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
  });

  it('POST /_local/session validates its body', () => {
    const { provider: idp } = provider();
    expect(
      handleSessionRequest(idp, '{"email":"a@example.com","accountId":"acme","role":"admin"}').statusCode,
    ).toBe(200);
    for (const body of [
      null,
      'not json',
      '{"email":"nope","accountId":"acme","role":"admin"}',
      '{"email":"a@example.com","accountId":"acme","role":"owner"}',
      '{"email":"a@example.com","accountId":"","role":"admin"}',
      '{"email":"a@example.com","accountId":"acme","role":"admin","extra":1}',
    ]) {
      const response = handleSessionRequest(idp, body);
      expect(response.statusCode).toBe(400);
      expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    }
  });
});
