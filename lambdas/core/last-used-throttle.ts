// How often one authorizer container tries to record a token's lastUsedAt: at most once per token
// per interval. A busy token is verified many times a second; without this, every verification
// would start an UpdateItem (cost, write capacity and a hot item). The conditional update behind
// LastUsedRecorder (notBefore = now − interval) then bounds the writes across all containers to one
// per interval; this throttle only keeps each container from even asking more often than that.
//
// Bounded: a container that sees more distinct tokens than `maxEntries` forgets the oldest attempts
// (a Map keeps insertion order, and an attempt re-inserts its token, so the first key is the
// oldest). Forgetting only allows an extra attempt, which the conditional update absorbs. Pure: the
// caller passes the clock.

interface LastUsedThrottleOptions {
  readonly intervalMs: number;
  readonly maxEntries: number;
}

export class LastUsedThrottle {
  private readonly attempts = new Map<string, number>();

  constructor(private readonly options: LastUsedThrottleOptions) {}

  get size(): number {
    return this.attempts.size;
  }

  /**
   * True when this token's last attempt is at least an interval ago (or unknown), and then counts
   * this call as the new attempt: callers ask only when they will attempt.
   */
  tryAcquire(tokenId: string, nowMs: number): boolean {
    const last = this.attempts.get(tokenId);
    // `nowMs < last`: a clock that stepped back must not silence a token for the step's length.
    if (last !== undefined && nowMs - last < this.options.intervalMs && nowMs >= last) return false;
    this.attempts.delete(tokenId);
    this.attempts.set(tokenId, nowMs);
    while (this.attempts.size > this.options.maxEntries) {
      const oldest = this.attempts.keys().next();
      if (oldest.done === true) break;
      this.attempts.delete(oldest.value);
    }
    return true;
  }
}
