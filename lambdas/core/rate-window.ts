import {
  nextQuotaPeriodStart,
  type Quota,
  quotaPeriodStart,
  type RateLimit,
  type TokenLimits,
} from './rate-limits.js';

// Strict rate limits for HTTP APIs (docs/rate-limits.md "HTTP APIs"): HTTP APIs have no usage
// plans, so the token authorizer itself counts, with API Gateway's result cache off for the API so
// that every request reaches it. Per token, fixed windows counted in a shared store (DynamoDB) with
// batched increments: each container adds up what it allowed and flushes the sum with one atomic
// ADD, which answers the new total; a decision compares total-at-last-flush + allowed-since with
// the window's allowance. No AWS here: the store is a port (adapters/dynamo-rate-counters.ts).
//
// Hand-written rather than a library: the rate limiters on npm (token buckets, sliding logs) either
// keep their state in one process or in Redis; none batches increments into DynamoDB.
//
// Windows
// - rate: fixed windows of W = max(1, ⌈burst / requestsPerSecond⌉) seconds, allowance
//   ⌊requestsPerSecond × W⌋ (≥ burst). Over time no more than requestsPerSecond pass on average,
//   and up to a burst passes at once; as with any fixed window, the end of one window and the start
//   of the next can pass two allowances close together. A burst below the rate is one second's worth.
// - quota: the calendar period (UTC, weeks from Monday, as quotaPeriodStart), allowance the limit.
// Only allowed requests count (a refused one uses up nothing), as API Gateway's usage plans.
//
// Accuracy bound (per window, proved in the test by fast-check over every interleaving): with C
// containers counting a token's requests in one window and a flush batch of at most B requests,
// at most  allowance + (C − 1) × B  requests are allowed. Why: every container flushes as soon as
// it has B unflushed requests, before answering the one that filled the batch; the last batch any container starts knows every batch flushed before it
// and stops at the allowance; only the at most one open batch of each other container is missed.
// B = min(flushEvery, max(1, ⌊allowance / 10⌋)): one more container overshoots by at most a tenth
// of the allowance (or one request). A container that forgets a token (LRU) and meets it again in
// the window counts as one more container. A quota counter also reads the total before its first
// decision in a container, so a new container does not pass a spent quota.
//
// Failures: a flush that fails keeps its count (added again at the next flush) and is retried
// after flushIntervalMs; meanwhile the container decides on what it knows plus what it allowed.
// Fail-open, but never open-ended: each container still refuses beyond the allowance on its own,
// so an outage of the counters loosens the bound to C × allowance, and a verified token is not
// turned into a 500 by a counter that cannot be written.

/** The strict-mode switch: a stage variable the TokenAuthorizer construct sets on the HTTP API's stage. */
export const RATE_LIMITS_STAGE_VARIABLE = 'accessTokensRateLimits';
export const STRICT_RATE_LIMITS = 'strict';

export type RateDecision = 'ALLOWED' | 'RATE_LIMITED' | 'QUOTA_EXCEEDED';

/** One counter of one token: `name` is unique per token and window (it becomes part of the item key). */
export interface CounterWindow {
  readonly kind: 'rate' | 'quota';
  readonly name: string;
  readonly allowance: number;
  readonly startsAtMs: number;
  readonly endsAtMs: number;
}

/** The shared counters: one atomic add per flush, answering the total after it. */
export interface RateCounterStore {
  /** Adds `delta` (≥ 0) to the token's counter of `window`; the total after the add. */
  add(tokenId: string, window: CounterWindow, delta: number): Promise<number>;
}

/** The rate window that holds `nowMs`. */
export function rateWindowOf(rateLimit: RateLimit, nowMs: number): CounterWindow {
  const seconds = Math.max(1, Math.ceil(rateLimit.burst / rateLimit.requestsPerSecond));
  const lengthMs = seconds * 1000;
  const index = Math.floor(nowMs / lengthMs);
  return {
    kind: 'rate',
    name: `r${seconds}-${index}`,
    allowance: Math.max(1, Math.floor(rateLimit.requestsPerSecond * seconds)),
    startsAtMs: index * lengthMs,
    endsAtMs: (index + 1) * lengthMs,
  };
}

/** The quota period that holds `nowMs`. */
export function quotaWindowOf(quota: Quota, nowMs: number): CounterWindow {
  const at = new Date(nowMs);
  const start = quotaPeriodStart(quota.period, at);
  return {
    kind: 'quota',
    name: `q${quota.period.toLowerCase()}-${start.toISOString().slice(0, 10)}`,
    allowance: quota.limit,
    startsAtMs: start.getTime(),
    endsAtMs: nextQuotaPeriodStart(quota.period, at).getTime(),
  };
}

/** The flush batch of a window: see the header (accuracy bound). */
export function flushBatchOf(allowance: number, flushEvery: number): number {
  return Math.max(1, Math.min(flushEvery, Math.floor(allowance / 10)));
}

/** The bound the header states: the most a window can allow across `containers` containers. */
export function allowedBound(allowance: number, containers: number, flushEvery: number): number {
  return allowance + (containers - 1) * flushBatchOf(allowance, flushEvery);
}

export interface RateWindowOptions {
  /** The largest flush batch (B ≤ this). */
  readonly flushEvery: number;
  /** Unflushed counts older than this are flushed at the token's next request; failed flushes wait this long. */
  readonly flushIntervalMs: number;
  /** Tokens one container keeps counters for (least recently used go first). */
  readonly maxTokens: number;
  /** A flush failed (its count is kept); for the log. */
  readonly onFlushFailure?: (tokenId: string, error: unknown) => void;
}

interface Counter {
  readonly tokenId: string;
  readonly window: CounterWindow;
  /** The store's total at the last flush (0 before any). */
  known: number;
  /** Allowed here since the last successful flush. */
  pending: number;
  lastFlushMs: number;
  /** No flush before this (after a failure). */
  retryAtMs: number;
  /** A quota counter reads the total before its first decision. */
  synced: boolean;
}

interface TokenState {
  rate: Counter | undefined;
  quota: Counter | undefined;
  /** Decisions of one token run one after another (the local stack calls the handler concurrently). */
  tail: Promise<unknown>;
}

export class RateWindowLimiter {
  private readonly tokens = new Map<string, TokenState>();

  constructor(
    private readonly store: RateCounterStore,
    private readonly options: RateWindowOptions,
  ) {}

  /** Decides one request of `tokenId` under `limits`, counting it when allowed. Never rejects. */
  check(tokenId: string, limits: TokenLimits, nowMs: number): Promise<RateDecision> {
    const state = this.stateOf(tokenId);
    const run = state.tail.then(() => this.decide(state, tokenId, limits, nowMs));
    state.tail = run.catch(() => undefined);
    return run;
  }

  private stateOf(tokenId: string): TokenState {
    let state = this.tokens.get(tokenId);
    if (state !== undefined) {
      // Re-inserted: the Map's first key is then the least recently used.
      this.tokens.delete(tokenId);
    } else {
      state = { rate: undefined, quota: undefined, tail: Promise.resolve() };
    }
    this.tokens.set(tokenId, state);
    while (this.tokens.size > this.options.maxTokens) {
      const oldest = this.tokens.keys().next();
      if (oldest.done === true) break;
      this.tokens.delete(oldest.value);
    }
    return state;
  }

  private counterFor(current: Counter | undefined, tokenId: string, window: CounterWindow, nowMs: number) {
    if (current !== undefined && current.window.name === window.name) return current;
    // A new window starts from nothing here; what was unflushed of the old one no longer decides anything.
    return {
      tokenId,
      window,
      known: 0,
      pending: 0,
      lastFlushMs: nowMs,
      retryAtMs: nowMs,
      synced: window.kind === 'rate',
    };
  }

  private async decide(
    state: TokenState,
    tokenId: string,
    limits: TokenLimits,
    nowMs: number,
  ): Promise<RateDecision> {
    const rate = this.counterFor(state.rate, tokenId, rateWindowOf(limits.rateLimit, nowMs), nowMs);
    const quota =
      limits.quota === null
        ? undefined
        : this.counterFor(state.quota, tokenId, quotaWindowOf(limits.quota, nowMs), nowMs);
    state.rate = rate;
    state.quota = quota;
    // Before deciding: a quota's first read, what is left from an earlier batch (interval, retry).
    await this.flushDue([rate, quota], nowMs);
    if (quota !== undefined && quota.known + quota.pending >= quota.window.allowance) return 'QUOTA_EXCEEDED';
    if (rate.known + rate.pending >= rate.window.allowance) return 'RATE_LIMITED';
    rate.pending += 1;
    if (quota !== undefined) quota.pending += 1;
    // After: a full batch goes to the store before this request is answered.
    await this.flushDue([rate, quota], nowMs);
    return 'ALLOWED';
  }

  private async flushDue(counters: readonly (Counter | undefined)[], nowMs: number): Promise<void> {
    const due = counters.filter(
      (counter): counter is Counter => counter !== undefined && this.isFlushDue(counter, nowMs),
    );
    if (due.length > 0) await Promise.all(due.map((counter) => this.flush(counter, nowMs)));
  }

  private isFlushDue(counter: Counter, nowMs: number): boolean {
    if (nowMs < counter.retryAtMs) return false;
    if (!counter.synced) return true;
    if (counter.pending >= flushBatchOf(counter.window.allowance, this.options.flushEvery)) return true;
    return counter.pending > 0 && nowMs - counter.lastFlushMs >= this.options.flushIntervalMs;
  }

  private async flush(counter: Counter, nowMs: number): Promise<void> {
    const delta = counter.pending;
    try {
      const total = await this.store.add(counter.tokenId, counter.window, delta);
      // The total includes this container's own flushed counts; what was pending is in it now.
      counter.known = Math.max(counter.known + delta, total);
      counter.pending -= delta;
      counter.synced = true;
      counter.lastFlushMs = nowMs;
    } catch (error) {
      counter.retryAtMs = nowMs + this.options.flushIntervalMs;
      this.options.onFlushFailure?.(counter.tokenId, error);
    }
  }
}
