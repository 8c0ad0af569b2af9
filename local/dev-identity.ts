import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
  sign,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { IDENTITY_PATTERN_DESCRIPTION, isSafeIdentity } from '../lambdas/core/identity.js';
import type { Role } from '../lambdas/core/model.js';

// The local stack's dev identity provider: it stands in for Cognito / an OIDC issuer. It signs
// RS256 JWTs (node:crypto) with a key pair kept under the data directory, so sessions survive a
// restart, and publishes the public key as a JWKS for the JWT authorizer. It exists only locally.

export const DEV_AUDIENCE = 'access-tokens-local';
export const SESSION_LIFETIME_SECONDS = 8 * 60 * 60;

interface DevIdentitySettings {
  /** `http://127.0.0.1:<gatewayPort>/_local` */
  readonly issuer: string;
  readonly audience: string;
  readonly claims: { readonly accountId: string; readonly role: string; readonly email: string };
}

interface SessionRequest {
  readonly email: string;
  readonly accountId: string;
  readonly role: Role;
  readonly userId?: string | undefined;
}

interface Session {
  readonly jwt: string;
  readonly userId: string;
  /** ISO 8601. */
  readonly expiresAt: string;
}

interface Jwks {
  readonly keys: readonly Record<string, unknown>[];
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** A stable user id for an email address: the same person gets the same id across sessions. */
export function userIdForEmail(email: string): string {
  return `user-${createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 20)}`;
}

/** Loads the PKCS#8 PEM private key at `path`, creating a 2048-bit RSA key there on first use. */
export function loadOrCreateSigningKey(path: string): KeyObject {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
    try {
      writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process made it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return createPrivateKey(readFileSync(path, 'utf8'));
}

export class DevIdentityProvider {
  private readonly publicJwk: Record<string, unknown>;
  readonly keyId: string;

  constructor(
    private readonly privateKey: KeyObject,
    readonly settings: DevIdentitySettings,
    private readonly now: () => number = Date.now,
  ) {
    const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
    // RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order.
    this.keyId = base64url(
      createHash('sha256')
        .update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n }))
        .digest(),
    );
    this.publicJwk = { kty: jwk.kty, n: jwk.n, e: jwk.e, kid: this.keyId, alg: 'RS256', use: 'sig' };
  }

  /** Throws for ids the API would refuse (lambdas/core/identity.ts): it never signs such a JWT. */
  issueSession(request: SessionRequest): Session {
    const userId = request.userId ?? userIdForEmail(request.email);
    if (!isSafeIdentity(userId) || !isSafeIdentity(request.accountId)) {
      throw new Error(`user and account ids must be ${IDENTITY_PATTERN_DESCRIPTION}`);
    }
    const issuedAt = Math.floor(this.now() / 1000);
    const expiresAt = issuedAt + SESSION_LIFETIME_SECONDS;
    const { claims } = this.settings;
    const payload = {
      iss: this.settings.issuer,
      aud: this.settings.audience,
      sub: userId,
      iat: issuedAt,
      exp: expiresAt,
      jti: randomUUID(),
      [claims.email]: request.email,
      [claims.accountId]: request.accountId,
      [claims.role]: request.role,
    };
    const header = { alg: 'RS256', typ: 'JWT', kid: this.keyId };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
    const signature = sign('sha256', Buffer.from(signingInput), this.privateKey);
    return {
      jwt: `${signingInput}.${base64url(signature)}`,
      userId,
      expiresAt: new Date(expiresAt * 1000).toISOString(),
    };
  }

  jwks(): Jwks {
    return { keys: [{ ...this.publicJwk }] };
  }
}
