// API Gateway's authorizer result cache: one entry per identity-source values for the TTL. A
// cached result is re-evaluated against each later request (its method ARN), exactly as a fresh
// one. Errors (500) are never cached; TTL 0 disables caching.

const MAX_ENTRIES = 10_000;

export class AuthorizerCache<V> {
  private readonly entries = new Map<string, { readonly value: V; readonly expiresAt: number }>();

  constructor(
    readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V): void {
    if (this.ttlSeconds <= 0) return;
    if (this.entries.size >= MAX_ENTRIES) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlSeconds * 1000 });
  }
}

/** The cache key of a list of identity-source values (unambiguous, whatever the values hold). */
export function identityKey(values: readonly string[]): string {
  return JSON.stringify(values);
}
