import type { CredentialRecord, TokenState } from '../core/model.js';
import { QUOTA_PERIODS, type QuotaPeriod, type TokenLimitsOverride } from '../core/rate-limits.js';

// The credential item check of the token authorizer, by hand: the same rules as items.ts's
// credentialItemSchema (zod), which stays the definition for everything else, but without zod in
// the authorizer's bundle. Same types, the same enum, the same defaults (disabled false,
// accessGeneration 0 when absent) and the same output: only the schema's fields, `entity` dropped,
// arrays copied. A unit test checks it accepts exactly what credentialItemSchema accepts.

/** A credential item that does not have the credential shape. Carries no item content. */
class InvalidCredentialItemError extends Error {
  constructor(field: string) {
    super(`not a credential item: ${field}`);
    this.name = 'InvalidCredentialItemError';
  }
}

function fail(field: string): never {
  throw new InvalidCredentialItemError(field);
}

function str(item: Record<string, unknown>, field: string): string {
  const value = item[field];
  return typeof value === 'string' ? value : fail(field);
}

/** zod 4's z.number(): a finite number (no NaN, no Infinity). */
function finiteOrNull(item: Record<string, unknown>, field: string): number | null {
  const value = item[field];
  if (value === null) return null;
  return typeof value === 'number' && Number.isFinite(value) ? value : fail(field);
}

function strings(item: Record<string, unknown>, field: string): string[] {
  const value = item[field];
  if (!Array.isArray(value)) fail(field);
  const copy = new Array<string>(value.length);
  for (let index = 0; index < value.length; index++) {
    const element: unknown = value[index];
    if (typeof element !== 'string') fail(field);
    copy[index] = element;
  }
  return copy;
}

function state(item: Record<string, unknown>): TokenState {
  const value = item.state;
  return value === 'active' || value === 'revoked' ? value : fail('state');
}

function finite(value: unknown, field: string): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fail(field);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The token's own limits (strict mode of HTTP APIs): absent or null = its type's. */
function limits(item: Record<string, unknown>): TokenLimitsOverride | null {
  const value = item.limits;
  if (value === undefined || value === null) return null;
  if (!isRecord(value)) fail('limits');
  const { rateLimit, quota } = value;
  if (rateLimit !== null && !isRecord(rateLimit)) fail('limits.rateLimit');
  if (quota !== null && !isRecord(quota)) fail('limits.quota');
  const period = quota?.period;
  if (quota !== null && !(QUOTA_PERIODS as readonly unknown[]).includes(period)) fail('limits.quota.period');
  return {
    rateLimit:
      rateLimit === null
        ? null
        : {
            requestsPerSecond: finite(rateLimit.requestsPerSecond, 'limits.rateLimit.requestsPerSecond'),
            burst: finite(rateLimit.burst, 'limits.rateLimit.burst'),
          },
    quota:
      quota === null
        ? null
        : { limit: finite(quota.limit, 'limits.quota.limit'), period: period as QuotaPeriod },
  };
}

/** Throws InvalidCredentialItemError on an item credentialItemSchema would reject. */
export function checkCredentialItem(item: Record<string, unknown>): CredentialRecord {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) fail('(root)');
  if (item.entity !== 'credential') fail('entity');
  const disabled = item.disabled;
  if (disabled !== undefined && typeof disabled !== 'boolean') fail('disabled');
  const accessGeneration = item.accessGeneration;
  if (
    accessGeneration !== undefined &&
    !(typeof accessGeneration === 'number' && Number.isSafeInteger(accessGeneration) && accessGeneration >= 0)
  ) {
    fail('accessGeneration');
  }
  return {
    secretHash: str(item, 'secretHash'),
    tokenId: str(item, 'tokenId'),
    userId: str(item, 'userId'),
    accountId: str(item, 'accountId'),
    scopes: strings(item, 'scopes'),
    type: str(item, 'type'),
    allowedIps: strings(item, 'allowedIps'),
    state: state(item),
    expiresAtMs: finiteOrNull(item, 'expiresAtMs'),
    notAfterMs: finiteOrNull(item, 'notAfterMs'),
    keyVersion: str(item, 'keyVersion'),
    disabled: disabled ?? false,
    accessGeneration: accessGeneration ?? 0,
    limits: limits(item),
  };
}
