// The token authorizer's in-process verification cache: what one consistent GetItem found for a
// secret's HMAC (a credential, or nothing), kept for a short time so that repeated requests with the
// same token skip DynamoDB. Bounded (least recently used goes first) and keyed by the HMAC, never
// by the token. Pure: the caller passes the clock.
//
// Staleness adds up with API Gateway's result cache: a credential read at t may be served until
// t + ttl, and the gateway may then cache that decision for its own TTL. So the stack gives the
// gateway `revocationWindowSeconds - ttlSeconds`, and the two together stay within the window.
//
// A Map keeps insertion order, so "delete and set again" on a hit makes it the most recent and the
// first key is always the least recently used: an LRU in a few lines, with no dependency on the
// hot path (lru-cache would do the same with more code to load at cold start).

import { type PolicySettings, verificationCacheTtlSeconds } from './settings.js';

interface VerificationCacheOptions {
  /** How long a found credential is reused, in ms; 0 disables the cache. */
  readonly ttlMs: number;
  /** How long "no such credential" is reused, in ms (unknown or garbage-but-well-formed tokens). */
  readonly negativeTtlMs: number;
  readonly maxEntries: number;
}

/**
 * The cache a deployment's settings give (the token authorizer's and POST /verify's are the same):
 * credentials kept for `verificationCacheSeconds`, "no such credential" for
 * `verificationCacheNegativeSeconds`, neither longer than the revocation window.
 */
export function verificationCacheOptionsOf(
  settings: Pick<
    PolicySettings,
    | 'verificationCacheSeconds'
    | 'verificationCacheNegativeSeconds'
    | 'verificationCacheMaxEntries'
    | 'revocationWindowSeconds'
  >,
): VerificationCacheOptions {
  return {
    ttlMs: verificationCacheTtlSeconds(settings) * 1000,
    negativeTtlMs:
      Math.min(settings.verificationCacheNegativeSeconds, settings.revocationWindowSeconds) * 1000,
    maxEntries: settings.verificationCacheMaxEntries,
  };
}

interface Entry<T> {
  /** What a hit hands out, made once when stored: no object is made per hit. */
  readonly found: { readonly hit: true; readonly value: T | undefined };
  readonly expiresAtMs: number;
}

export type CacheLookup<T> = { readonly hit: true; readonly value: T | undefined } | { readonly hit: false };

const MISS = { hit: false } as const;

export class VerificationCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  /** The key last moved to (or set at) the end of the Map's order, while it is still there. */
  private newest: string | undefined;

  constructor(private readonly options: VerificationCacheOptions) {}

  get enabled(): boolean {
    return this.options.maxEntries > 0 && (this.options.ttlMs > 0 || this.options.negativeTtlMs > 0);
  }

  get size(): number {
    return this.entries.size;
  }

  lookup(key: string, nowMs: number): CacheLookup<T> {
    const entry = this.entries.get(key);
    if (entry === undefined) return MISS;
    if (entry.expiresAtMs <= nowMs) {
      this.entries.delete(key);
      if (key === this.newest) this.newest = undefined;
      return MISS;
    }
    // Already the most recent (a busy token, hit after hit): nothing to move.
    if (key !== this.newest) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      this.newest = key;
    }
    return entry.found;
  }

  /** Remembers what the read found (undefined = nothing), unless the cache is off for that kind. */
  store(key: string, value: T | undefined, nowMs: number): void {
    const ttl = value === undefined ? this.options.negativeTtlMs : this.options.ttlMs;
    if (ttl <= 0 || this.options.maxEntries <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { found: Object.freeze({ hit: true, value }), expiresAtMs: nowMs + ttl });
    this.newest = key;
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
      if (oldest.value === this.newest) this.newest = undefined;
    }
  }

  clear(): void {
    this.entries.clear();
    this.newest = undefined;
  }
}
