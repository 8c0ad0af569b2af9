import type { CredentialRecord } from '../../lambdas/core/model.js';
import type { RouteScopeMap } from '../../lambdas/core/route-scopes.js';

// The access model's oracle, written from README / docs/design.md alone: no production helper is
// called to compute the expectation. The token authorizer's property (test/unit/authorizer/
// access-model.test.ts) and the verify API's (test/unit/verify/verify-token.test.ts) both hold
// their decisions to it.

export type Reason =
  | 'VALID'
  | 'MALFORMED'
  | 'NOT_FOUND'
  | 'EXPIRED'
  | 'REVOKED'
  | 'DISABLED'
  | 'IP_NOT_ALLOWED'
  | 'INSUFFICIENT_SCOPE';

/** An address as 128 bits, IPv4 as its IPv4-mapped IPv6 form (::ffff:a.b.c.d). */
function addressBits(text: string): bigint | undefined {
  const v4 = (value: string): bigint | undefined => {
    const parts = value.split('.');
    if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)) {
      return undefined;
    }
    return parts.reduce((bits, part) => (bits << 8n) | BigInt(Number(part)), 0n);
  };
  const asV4 = v4(text);
  if (asV4 !== undefined) return (0xffffn << 32n) | asV4;
  if (!text.includes(':')) return undefined;
  // A dotted IPv4 tail (`::ffff:1.2.3.4`) is the last two groups written differently.
  let hex = text;
  const tail = text.slice(text.lastIndexOf(':') + 1);
  if (tail.includes('.')) {
    const tailBits = v4(tail);
    if (tailBits === undefined) return undefined;
    hex = `${text.slice(0, text.length - tail.length)}${(tailBits >> 16n).toString(16)}:${(tailBits & 0xffffn).toString(16)}`;
  }
  const [left = '', right] = hex.split('::');
  const l = left === '' ? [] : left.split(':');
  const r = right === undefined || right === '' ? [] : right.split(':');
  const groups = right === undefined ? l : [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
  return groups.reduce((bits, group) => (bits << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

function inCidr(address: string, cidr: string): boolean {
  const [network = '', prefixText] = cidr.split('/');
  const a = addressBits(address);
  const n = addressBits(network);
  if (a === undefined || n === undefined) return false;
  const isV4 = !network.includes(':');
  const written = prefixText === undefined ? (isV4 ? 32 : 128) : Number(prefixText);
  const prefix = isV4 ? written + 96 : written;
  const shift = BigInt(128 - prefix);
  return a >> shift === n >> shift;
}

export type PresentedToken = 'issued' | 'unknown' | 'malformed';

/**
 * Everything but the scope: the token's shape, whether it exists, its state, expiry, owner's access
 * and allowlist. Undefined: a live token from an allowed address, whose scopes decide.
 */
function credentialReason(
  token: PresentedToken,
  cred: CredentialRecord,
  sourceIp: string | undefined,
  now: number,
): Reason | undefined {
  if (token === 'malformed') return 'MALFORMED';
  if (token === 'unknown') return 'NOT_FOUND';
  if (cred.state === 'revoked') return 'REVOKED';
  if (cred.expiresAtMs !== null && cred.expiresAtMs <= now) return 'EXPIRED';
  if (cred.notAfterMs !== null && cred.notAfterMs <= now) return 'EXPIRED';
  if (cred.disabled) return 'DISABLED';
  if (
    cred.allowedIps.length > 0 &&
    (sourceIp === undefined || !cred.allowedIps.some((cidr) => inCidr(sourceIp, cidr)))
  ) {
    return 'IP_NOT_ALLOWED';
  }
  return undefined;
}

/** The area rule: `<first segment after the base path>:<read|write by method>`, when both exist. */
function areaRuleScope(method: string, path: string, basePath: string): string | undefined {
  const segment = path.slice(basePath.length).split('/')[1] ?? '';
  const action = ['GET', 'HEAD', 'OPTIONS'].includes(method)
    ? 'read'
    : ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)
      ? 'write'
      : undefined;
  return /^[a-z][a-z0-9-]{0,39}$/.test(segment) && action !== undefined ? `${segment}:${action}` : undefined;
}

export interface OracleCase {
  readonly token: PresentedToken;
  readonly credential: CredentialRecord;
  readonly map: RouteScopeMap | undefined;
  readonly basePath: string;
  readonly method: string;
  readonly template: string;
  readonly path: string;
  readonly sourceIp: string;
}

/** A gateway request: the route map's scope for the matched template, else the area rule. */
export function oracle(c: OracleCase, now: number): Reason {
  const early = credentialReason(c.token, c.credential, c.sourceIp, now);
  if (early !== undefined) return early;
  let needed: string | undefined;
  const route = c.template === c.basePath ? '/' : c.template.slice(c.basePath.length);
  if (c.map !== undefined) needed = c.map[`${c.method} ${route}`] ?? c.map[`ANY ${route}`];
  needed ??= areaRuleScope(c.method, c.path, c.basePath);
  return needed !== undefined && c.credential.scopes.includes(needed) ? 'VALID' : 'INSUFFICIENT_SCOPE';
}

interface VerifyOracleCase {
  readonly token: PresentedToken;
  readonly credential: CredentialRecord;
  /** `method` and `path` come together (the verify API's contract). */
  readonly request: { readonly method: string; readonly path: string } | undefined;
  readonly requiredScope: string | undefined;
  readonly sourceIp: string | undefined;
}

/**
 * A verify call (docs/verify.md): the same checks; the scope is `requiredScope` when given (as a
 * mapped route's), else the area rule on the path (no base path), else none is checked.
 */
export function verifyOracle(c: VerifyOracleCase, now: number): Reason {
  const early = credentialReason(c.token, c.credential, c.sourceIp, now);
  if (early !== undefined) return early;
  if (c.requiredScope === undefined && c.request === undefined) return 'VALID';
  const needed = c.requiredScope ?? (c.request && areaRuleScope(c.request.method, c.request.path, ''));
  return needed !== undefined && c.credential.scopes.includes(needed) ? 'VALID' : 'INSUFFICIENT_SCOPE';
}
