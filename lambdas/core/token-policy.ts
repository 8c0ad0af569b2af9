import { BlockList, isIP } from 'node:net';
import { type ErrorDetail, ValidationError } from './errors.js';
import {
  DESCRIPTION_MAX_LENGTH,
  MAX_ALLOWED_IPS_PER_TOKEN,
  MAX_SCOPES_PER_TOKEN,
  NAME_MAX_LENGTH,
  type PolicyView,
} from './inputs.js';
import type { TokenLimitsOverride } from './rate-limits.js';
import {
  type AllowlistBound,
  allowlistBoundOf,
  type PolicySettings,
  scopeCatalogue,
  tokenTypeNamed,
} from './settings.js';
import { resolveCreateLimits, type TokenLimitsRequest } from './token-limits.js';

// The token policy applied to a create request: expiry, scopes, token type, IP allowlist and the
// token's own limits (token-limits.ts).
// Every problem is collected and reported at once as one ValidationError with a detail per field.
//
// Expiry rules:
// - `expiresInDays`: must be one of `expiryPresetsDays`.
// - `expiresAt` (ISO 8601): strictly in the future and no later than now + `maxLifetimeDays`.
// - `expiresAt: null`: "never expires", accepted only when `allowNoExpiry` is on. An explicit null
//   (rather than leaving both fields out) so that no client gets an immortal token by omission.
// - neither: `defaultExpiryDays(settings)`: 30 days if 30 is a preset, else the smallest preset.

const DAY_MS = 86_400_000;
const PREFERRED_DEFAULT_EXPIRY_DAYS = 30;

export interface TokenPolicyRequest {
  readonly scopes: readonly string[];
  readonly type?: string | undefined;
  readonly allowedIps?: readonly string[] | undefined;
  readonly expiresInDays?: number | undefined;
  readonly expiresAt?: string | null | undefined;
  readonly limits?: TokenLimitsRequest | undefined;
}

interface ResolvedTokenPolicy {
  readonly type: string;
  readonly scopes: string[];
  readonly allowedIps: string[];
  readonly expiresAt: string | null;
  /** The token's own limits, within its type's ceiling; null: the type's. */
  readonly limits: TokenLimitsOverride | null;
}

export function defaultExpiryDays(settings: PolicySettings): number {
  if (settings.expiryPresetsDays.includes(PREFERRED_DEFAULT_EXPIRY_DAYS))
    return PREFERRED_DEFAULT_EXPIRY_DAYS;
  return Math.min(...settings.expiryPresetsDays);
}

/** Applies the policy to a request, or throws ValidationError listing every problem. */
export function resolveTokenPolicy(
  settings: PolicySettings,
  request: TokenPolicyRequest,
  now: Date,
): ResolvedTokenPolicy {
  const issues: ErrorDetail[] = [];
  const expiresAt = resolveExpiry(settings, request, now, issues);
  const type = request.type ?? settings.defaultTokenType;
  const typeSettings = tokenTypeNamed(settings, type);
  if (typeSettings === undefined) {
    issues.push({
      path: 'type',
      message: `unknown token type "${type}"; one of: ${Object.keys(settings.tokenTypes).join(', ')}`,
    });
  }
  const scopes = checkScopes(settings, request.scopes, type, typeSettings?.allowedScopes, issues);
  const bound = typeSettings === undefined ? undefined : allowlistBoundOf(typeSettings);
  const allowedIps = normaliseAllowedIps(request.allowedIps ?? [], issues, bound && { bound, type });
  if (typeSettings?.requireIpAllowlist === true && (request.allowedIps ?? []).length === 0) {
    issues.push({
      path: 'allowedIps',
      message: `token type "${type}" requires at least one allowed IP address or CIDR`,
    });
  }
  const limits = resolveCreateLimits(typeSettings, request.limits, issues);
  if (issues.length > 0) throw new ValidationError('The token request breaks the token policy', issues);
  return { type, scopes, allowedIps, expiresAt, limits };
}

// ---------------------------------------------------------------------------------------------
// Edits (PATCH /tokens/{id})

/** The editable fields of a token, as an edit request names them (absent = unchanged). */
export interface TokenUpdateRequest {
  readonly name?: string | undefined;
  readonly description?: string | undefined;
  readonly scopes?: readonly string[] | undefined;
  readonly allowedIps?: readonly string[] | undefined;
  readonly expiresAt?: string | null | undefined;
}

/** The token as an edit leaves it: every editable field, resolved (unchanged ones as they were). */
interface ResolvedTokenUpdate {
  readonly name: string;
  readonly description: string;
  readonly scopes: readonly string[];
  readonly allowedIps: readonly string[];
  readonly expiresAt: string | null;
}

type EditableToken = ResolvedTokenUpdate & { readonly type: string; readonly createdAt: string };

/**
 * Applies the policy to an edit of `current`, or throws ValidationError listing every problem, with
 * the same detail paths as a create. The rules are a create's, held against the token as it is:
 * - scopes: from the catalogue and never more than the token's type allows;
 * - allowedIps: normalised; a type that requires an allowlist cannot have it emptied;
 * - expiresAt: in the future and no later than createdAt + maxLifetimeDays (the lifetime counts
 *   from creation, so repeated edits cannot keep a token alive forever); null only with allowNoExpiry.
 * A field set to what the token already holds is not a change and is not re-checked: a deployment
 * that tightened its policy since must not make a harmless edit of another field fail. Scopes or
 * addresses that only differ in order are kept in the token's order, so they are no change either.
 */
export function resolveTokenUpdate(
  settings: PolicySettings,
  current: EditableToken,
  request: TokenUpdateRequest,
  now: Date,
): ResolvedTokenUpdate {
  const issues: ErrorDetail[] = [];
  const typeSettings = tokenTypeNamed(settings, current.type);
  // Without its type's rules there is nothing to hold new scopes or addresses against.
  const typeGone = (path: string) =>
    issues.push({
      path,
      message: `token type "${current.type}" is no longer configured; its ${path} cannot be changed`,
    });

  let scopes = current.scopes;
  if (request.scopes !== undefined && !sameMembers(request.scopes, current.scopes)) {
    if (typeSettings === undefined) typeGone('scopes');
    scopes = checkScopes(settings, request.scopes, current.type, typeSettings?.allowedScopes, issues);
  }

  let allowedIps = current.allowedIps;
  if (request.allowedIps !== undefined) {
    const before = issues.length;
    const bound = typeSettings === undefined ? undefined : allowlistBoundOf(typeSettings);
    const normalised = normaliseAllowedIps(
      request.allowedIps,
      issues,
      bound && { bound, type: current.type },
    );
    const valid = issues.length === before;
    if (!valid || !sameMembers(normalised, current.allowedIps)) {
      if (typeSettings === undefined) typeGone('allowedIps');
      allowedIps = normalised;
      if (typeSettings?.requireIpAllowlist === true && request.allowedIps.length === 0) {
        issues.push({
          path: 'allowedIps',
          message: `token type "${current.type}" requires at least one allowed IP address or CIDR`,
        });
      }
    }
  }

  let expiresAt = current.expiresAt;
  if (request.expiresAt !== undefined && !sameInstant(request.expiresAt, current.expiresAt)) {
    expiresAt = resolveEditedExpiry(settings, current.createdAt, request.expiresAt, now, issues);
  }

  if (issues.length > 0) throw new ValidationError('The token edit breaks the token policy', issues);
  return {
    name: request.name ?? current.name,
    description: request.description ?? current.description,
    scopes,
    allowedIps,
    expiresAt,
  };
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const members = new Set(b);
  return new Set(a).size === a.length && a.every((value) => members.has(value));
}

function sameInstant(requested: string | null, current: string | null): boolean {
  if (requested === null || current === null) return requested === current;
  return Date.parse(requested) === Date.parse(current);
}

function resolveEditedExpiry(
  settings: PolicySettings,
  createdAt: string,
  expiresAt: string | null,
  now: Date,
  issues: ErrorDetail[],
): string | null {
  return checkExpiresAt(
    settings,
    expiresAt,
    Date.parse(createdAt),
    'after the token was created',
    now,
    issues,
  );
}

/**
 * An explicit `expiresAt` (a date or `null` for "never"), checked against the deployment's policy: the
 * latest allowed instant is `maxLifetimeDays` after `from` (creation for an edit, now for a new token).
 */
function checkExpiresAt(
  settings: PolicySettings,
  expiresAt: string | null,
  from: number,
  fromLabel: string,
  now: Date,
  issues: ErrorDetail[],
): string | null {
  if (expiresAt === null) {
    if (!settings.allowNoExpiry) {
      issues.push({ path: 'expiresAt', message: 'this deployment does not allow tokens that never expire' });
    }
    return null;
  }
  const at = Date.parse(expiresAt);
  const latest = from + settings.maxLifetimeDays * DAY_MS;
  if (Number.isNaN(at)) {
    issues.push({ path: 'expiresAt', message: 'must be an ISO 8601 date and time' });
  } else if (at <= now.getTime()) {
    issues.push({ path: 'expiresAt', message: 'must be in the future' });
  } else if (at > latest) {
    issues.push({
      path: 'expiresAt',
      message: `must be no later than ${settings.maxLifetimeDays} days ${fromLabel} (${new Date(latest).toISOString()})`,
    });
  } else {
    return new Date(at).toISOString();
  }
  return null;
}

function resolveExpiry(
  settings: PolicySettings,
  request: TokenPolicyRequest,
  now: Date,
  issues: ErrorDetail[],
): string | null {
  const { expiresInDays, expiresAt } = request;
  if (expiresInDays !== undefined && expiresAt !== undefined) {
    issues.push({ path: 'expiresAt', message: 'give either expiresInDays or expiresAt, not both' });
    return null;
  }
  if (expiresInDays !== undefined) {
    if (!settings.expiryPresetsDays.includes(expiresInDays)) {
      issues.push({
        path: 'expiresInDays',
        message: `must be one of ${settings.expiryPresetsDays.join(', ')}`,
      });
      return null;
    }
    return new Date(now.getTime() + expiresInDays * DAY_MS).toISOString();
  }
  if (expiresAt !== undefined)
    return checkExpiresAt(settings, expiresAt, now.getTime(), 'from now', now, issues);
  return new Date(now.getTime() + defaultExpiryDays(settings) * DAY_MS).toISOString();
}

function checkScopes(
  settings: PolicySettings,
  scopes: readonly string[],
  type: string,
  allowedForType: readonly string[] | undefined,
  issues: ErrorDetail[],
): string[] {
  const catalogue = new Set(scopeCatalogue(settings));
  const allowed = allowedForType === undefined ? undefined : new Set(allowedForType);
  const seen = new Map<string, number>();
  if (scopes.length === 0) issues.push({ path: 'scopes', message: 'at least one scope is required' });
  scopes.forEach((scope, index) => {
    const path = `scopes.${index}`;
    const first = seen.get(scope);
    if (first !== undefined) {
      issues.push({ path, message: `duplicate of scopes.${first}` });
      return;
    }
    seen.set(scope, index);
    if (!catalogue.has(scope)) {
      issues.push({ path, message: `unknown scope "${scope}"; see the scope catalogue in GET /policy` });
    } else if (allowed !== undefined && !allowed.has(scope)) {
      issues.push({ path, message: `scope "${scope}" is not allowed for token type "${type}"` });
    }
  });
  return [...scopes];
}

/** A type's allowlist bound and the type's name, for the message. */
interface TypeBound {
  readonly bound: AllowlistBound;
  readonly type: string;
}

function normaliseAllowedIps(
  entries: readonly string[],
  issues: ErrorDetail[],
  typeBound: TypeBound | undefined,
): string[] {
  const normalised: string[] = [];
  const seen = new Map<string, number>();
  entries.forEach((entry, index) => {
    const path = `allowedIps.${index}`;
    const result = normaliseEntry(entry);
    if ('error' in result) {
      issues.push({ path, message: result.error });
      return;
    }
    const tooWide = typeBound === undefined ? undefined : wideness(result, typeBound);
    if (tooWide !== undefined) {
      issues.push({ path, message: tooWide });
      return;
    }
    const first = seen.get(result.cidr);
    if (first !== undefined) {
      issues.push({ path, message: `duplicate of allowedIps.${first} (${result.cidr})` });
      return;
    }
    seen.set(result.cidr, index);
    normalised.push(result.cidr);
  });
  return normalised;
}

// ---------------------------------------------------------------------------------------------
// IP addresses and CIDRs

/**
 * One allowlist entry as a canonical CIDR: a plain address gets its full prefix (`10.0.0.1` →
 * `10.0.0.1/32`, `2001:db8::1` → `2001:db8::1/128`); host bits are cleared (`10.0.0.7/24` →
 * `10.0.0.0/24`); IPv6 is written in RFC 5952 form; IPv4-mapped IPv6 (`::ffff:10.0.0.1`) becomes IPv4.
 */
export function normaliseAllowedIp(entry: string): { cidr: string } | { error: string } {
  const result = normaliseEntry(entry);
  return 'error' in result ? result : { cidr: result.cidr };
}

interface NormalisedEntry {
  readonly cidr: string;
  readonly family: 4 | 6;
  readonly prefix: number;
  /** The network address. */
  readonly value: bigint;
}

/** `::ffff:0:0/96`: where node:net's BlockList (and so the gateway) matches IPv4 sources in IPv6 rules. */
const IPV4_MAPPED_NETWORK = 0xffffn << 32n;

/**
 * Why an entry is wider than a type's bound allows, or undefined when it is not. An IPv6 range that
 * contains `::ffff:0:0/96` (e.g. `::/32`, `::/80`) also matches every IPv4 address at the gateway,
 * so it counts as an IPv4 /0 whatever its IPv6 prefix.
 */
function wideness(entry: NormalisedEntry, { bound, type }: TypeBound): string | undefined {
  const rule = `token type "${type}" allows IPv4 ranges of /${bound.ipv4} or narrower and IPv6 ranges of /${bound.ipv6} or narrower`;
  if (entry.family === 4) {
    return entry.prefix < bound.ipv4 ? `${entry.cidr} is too wide: ${rule}` : undefined;
  }
  const shift = BigInt(128 - entry.prefix);
  if (entry.prefix <= 96 && entry.value >> shift === IPV4_MAPPED_NETWORK >> shift) {
    return `${entry.cidr} is too wide: it contains ::ffff:0:0/96 and so every IPv4 address; ${rule}`;
  }
  return entry.prefix < bound.ipv6 ? `${entry.cidr} is too wide: ${rule}` : undefined;
}

function normaliseEntry(entry: string): NormalisedEntry | { error: string } {
  const text = entry.trim();
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const version = address.includes('%') ? 0 : isIP(address);
  if (version === 0) return { error: 'must be an IPv4 or IPv6 address or CIDR (e.g. 203.0.113.0/24)' };
  const bits = version === 4 ? 32 : 128;
  let prefix = bits;
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
      return { error: `prefix length must be a whole number from 1 to ${bits}` };
    }
    prefix = Number(prefixText);
  }
  if (prefix === 0) return { error: 'a /0 range allows every address; leave allowedIps empty instead' };

  let value = version === 4 ? ipv4ToBigInt(address) : ipv6ToBigInt(address);
  let family: 4 | 6 = version === 4 ? 4 : 6;
  if (family === 6 && prefix >= 96 && value >> 32n === 0xffffn) {
    family = 4;
    prefix -= 96;
    value &= 0xffff_ffffn;
    if (prefix === 0) return { error: 'a /0 range allows every address; leave allowedIps empty instead' };
  }
  const width = family === 4 ? 32n : 128n;
  const mask = ((1n << width) - 1n) ^ ((1n << (width - BigInt(prefix))) - 1n);
  const network = family === 4 ? bigIntToIpv4(value & mask) : bigIntToIpv6(value & mask);
  // The same check the gateway's matcher makes: what is stored here is always usable there.
  new BlockList().addSubnet(network, prefix, family === 4 ? 'ipv4' : 'ipv6');
  return { cidr: `${network}/${prefix}`, family, prefix, value: value & mask };
}

function ipv4ToBigInt(address: string): bigint {
  return address.split('.').reduce((value, octet) => (value << 8n) | BigInt(Number(octet)), 0n);
}

function bigIntToIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 0xffn).toString()).join('.');
}

function ipv6ToBigInt(address: string): bigint {
  // isIP has accepted it, so it is well formed: expand `::` and an embedded IPv4 tail.
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4ToBigInt(tail);
    text = `${text.slice(0, lastColon + 1)}${((v4 >> 16n) & 0xffffn).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros =
    rest === undefined ? [] : new Array<string>(8 - headGroups.length - restGroups.length).fill('0');
  return [...headGroups, ...zeros, ...restGroups].reduce(
    (value, group) => (value << 16n) | BigInt(Number.parseInt(group, 16)),
    0n,
  );
}

function bigIntToIpv6(value: bigint): string {
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  // The WHATWG URL serialiser writes IPv6 in the RFC 5952 canonical form.
  return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
}

// ---------------------------------------------------------------------------------------------
// GET /policy

export function policyView(settings: PolicySettings): PolicyView {
  const catalogue = scopeCatalogue(settings);
  return {
    tokenPrefix: settings.tokenPrefix,
    expiryPresetsDays: [...settings.expiryPresetsDays],
    defaultExpiryDays: defaultExpiryDays(settings),
    maxLifetimeDays: settings.maxLifetimeDays,
    allowNoExpiry: settings.allowNoExpiry,
    limits: {
      maxActiveTokensPerUser: settings.maxActiveTokensPerUser,
      maxActiveTokensPerAccount: settings.maxActiveTokensPerAccount,
      maxScopesPerToken: MAX_SCOPES_PER_TOKEN,
      maxAllowedIpsPerToken: MAX_ALLOWED_IPS_PER_TOKEN,
      maxNameLength: NAME_MAX_LENGTH,
      maxDescriptionLength: DESCRIPTION_MAX_LENGTH,
    },
    scopeCatalogue: catalogue,
    tokenTypes: Object.entries(settings.tokenTypes).map(([name, type]) => ({
      name,
      description: type.description,
      allowedScopes: [...(type.allowedScopes ?? catalogue)],
      requireIpAllowlist: type.requireIpAllowlist,
      minAllowlistPrefix: allowlistBoundOf(type) ?? null,
      rateLimit: { ...type.rateLimit },
      quota: type.quota === undefined ? null : { ...type.quota },
    })),
    defaultTokenType: settings.defaultTokenType,
    revocationWindowSeconds: settings.revocationWindowSeconds,
    usageKeyBudget: settings.usageKeyBudget,
  };
}
