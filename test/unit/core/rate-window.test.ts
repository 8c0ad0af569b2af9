import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TokenLimits } from '../../../lambdas/core/rate-limits.js';
import {
  allowedBound,
  type CounterWindow,
  flushBatchOf,
  quotaWindowOf,
  type RateCounterStore,
  type RateDecision,
  RateWindowLimiter,
  rateWindowOf,
} from '../../../lambdas/core/rate-window.js';

// Strict mode's counting (lambdas/core/rate-window.ts): the windows, and the accuracy bound the
// docs promise, over every interleaving of containers and flushes that fast-check's scheduler finds.

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);

/** The shared counters: one Map, adds resolved in whatever order the scheduler picks. */
class MemoryCounters implements RateCounterStore {
  readonly totals = new Map<string, number>();
  adds = 0;
  constructor(
    private readonly delay: <T>(task: () => Promise<T>) => Promise<T> = (task) => task(),
    private readonly fails: () => boolean = () => false,
  ) {}
  add(tokenId: string, window: CounterWindow, delta: number): Promise<number> {
    return this.delay(async () => {
      if (this.fails()) throw new Error('ProvisionedThroughputExceededException');
      this.adds++;
      const key = `${tokenId}/${window.name}`;
      const total = (this.totals.get(key) ?? 0) + delta;
      this.totals.set(key, total);
      return total;
    });
  }
}

const limiterOn = (store: RateCounterStore, flushEvery = 10, flushIntervalMs = 1_000) =>
  new RateWindowLimiter(store, { flushEvery, flushIntervalMs, maxTokens: 1_000 });

const limits = (
  requestsPerSecond: number,
  burst: number,
  quota: TokenLimits['quota'] = null,
): TokenLimits => ({
  rateLimit: { requestsPerSecond, burst },
  quota,
});

describe('windows', () => {
  it('a rate window lasts ⌈burst/rate⌉ s (at least 1) and allows ⌊rate × length⌋, never less than the burst', () => {
    expect(rateWindowOf({ requestsPerSecond: 5, burst: 5 }, T0 + 300)).toMatchObject({
      allowance: 5,
      startsAtMs: T0,
      endsAtMs: T0 + 1_000,
    });
    expect(rateWindowOf({ requestsPerSecond: 50, burst: 100 }, T0 + 1_500)).toMatchObject({
      allowance: 100,
      startsAtMs: T0,
      endsAtMs: T0 + 2_000,
    });
    // A burst below the rate: one second's worth.
    expect(rateWindowOf({ requestsPerSecond: 100, burst: 10 }, T0).allowance).toBe(100);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 5_000 }), (rps, burst) => {
        const window = rateWindowOf({ requestsPerSecond: rps, burst }, T0);
        const seconds = (window.endsAtMs - window.startsAtMs) / 1000;
        expect(window.allowance).toBeGreaterThanOrEqual(burst);
        // Over time, never more than the rate.
        expect(window.allowance / seconds).toBeLessThanOrEqual(rps);
      }),
    );
  });

  it('a quota window is the calendar period, named by its first day', () => {
    const window = quotaWindowOf({ limit: 20, period: 'DAY' }, T0);
    expect(window).toMatchObject({ allowance: 20, name: 'qday-2026-11-30' });
    expect(new Date(window.endsAtMs).toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(quotaWindowOf({ limit: 20, period: 'WEEK' }, T0).name).toBe('qweek-2026-11-30');
    expect(quotaWindowOf({ limit: 20, period: 'MONTH' }, T0).name).toBe('qmonth-2026-11-01');
  });

  it('the flush batch is a tenth of the allowance, at least 1 and at most flushEvery', () => {
    expect(flushBatchOf(5, 10)).toBe(1);
    expect(flushBatchOf(100, 10)).toBe(10);
    expect(flushBatchOf(100, 4)).toBe(4);
    expect(flushBatchOf(10_000, 10)).toBe(10);
    expect(allowedBound(100, 3, 10)).toBe(120);
  });
});

describe('one container', () => {
  it('5 req/s, burst 5: 5 of a burst of 50 pass, then 5 again a second later', async () => {
    const store = new MemoryCounters();
    const limiter = limiterOn(store);
    const burst = await Promise.all(Array.from({ length: 50 }, () => limiter.check('t1', limits(5, 5), T0)));
    expect(burst.filter((d) => d === 'ALLOWED')).toHaveLength(5);
    expect(new Set(burst.slice(5))).toEqual(new Set(['RATE_LIMITED']));
    expect(await limiter.check('t1', limits(5, 5), T0 + 1_000)).toBe('ALLOWED');
    // Another token is unaffected.
    expect(await limiter.check('t2', limits(5, 5), T0 + 10)).toBe('ALLOWED');
  });

  it('a daily quota of 20 refuses the 21st call with QUOTA_EXCEEDED, until the next day', async () => {
    const limiter = limiterOn(new MemoryCounters());
    const quota = limits(50, 100, { limit: 20, period: 'DAY' });
    const decisions: RateDecision[] = [];
    for (let i = 0; i < 25; i++) decisions.push(await limiter.check('t1', quota, T0 + i * 1_000));
    expect(decisions.slice(0, 20)).toEqual(Array(20).fill('ALLOWED'));
    expect(decisions.slice(20)).toEqual(Array(5).fill('QUOTA_EXCEEDED'));
    expect(await limiter.check('t1', quota, T0 + 12 * 3_600_000)).toBe('ALLOWED');
  });

  it('a new container reads a quota before its first decision: a spent quota stays spent', async () => {
    const store = new MemoryCounters();
    const quota = limits(50, 100, { limit: 20, period: 'DAY' });
    const first = limiterOn(store, 1);
    for (let i = 0; i < 20; i++) await first.check('t1', quota, T0 + i);
    const fresh = limiterOn(store, 1);
    expect(await fresh.check('t1', quota, T0 + 100)).toBe('QUOTA_EXCEEDED');
  });

  it('batches: 100 allowed requests of a 50/100 token cost 10 adds, not 100', async () => {
    const store = new MemoryCounters();
    const limiter = limiterOn(store, 10);
    for (let i = 0; i < 101; i++) await limiter.check('t1', limits(50, 100), T0 + i);
    expect(store.adds).toBe(10);
    expect(store.totals.get('t1/r2-'.concat(String(Math.floor(T0 / 2000))))).toBe(100);
  });

  it('flushes what is left after flushIntervalMs at the next request', async () => {
    const store = new MemoryCounters();
    const limiter = limiterOn(store, 10, 1_000);
    const quota = limits(50, 100, { limit: 1_000, period: 'DAY' });
    for (let i = 0; i < 3; i++) await limiter.check('t1', quota, T0 + i);
    const key = 't1/qday-2026-11-30';
    expect(store.totals.get(key)).toBe(0); // the first decision's read
    await limiter.check('t1', quota, T0 + 900);
    expect(store.totals.get(key)).toBe(0);
    await limiter.check('t1', quota, T0 + 1_500);
    // The four earlier ones; this request's own count waits for its batch or the next interval.
    expect(store.totals.get(key)).toBe(4);
  });

  it('a failed flush keeps its count, is retried after the interval, and the container still refuses past the allowance', async () => {
    let failing = true;
    const store = new MemoryCounters(undefined, () => failing);
    const failures: string[] = [];
    const limiter = new RateWindowLimiter(store, {
      flushEvery: 1,
      flushIntervalMs: 1_000,
      maxTokens: 10,
      onFlushFailure: (tokenId, error) => failures.push(`${tokenId}:${(error as Error).message}`),
    });
    const quota = limits(50, 100, { limit: 5, period: 'DAY' });
    const decisions: RateDecision[] = [];
    for (let i = 0; i < 8; i++) decisions.push(await limiter.check('t1', quota, T0 + i));
    // Fail-open, bounded: the container alone still stops at the quota.
    expect(decisions).toEqual([...Array(5).fill('ALLOWED'), ...Array(3).fill('QUOTA_EXCEEDED')]);
    // One attempt per counter (rate, quota) per interval, not one per request.
    expect(failures).toEqual(Array(2).fill('t1:ProvisionedThroughputExceededException'));
    failing = false;
    expect(await limiter.check('t1', quota, T0 + 2_000)).toBe('QUOTA_EXCEEDED');
    // Nothing was lost: the five allowed requests reached the store.
    expect(store.totals.get('t1/qday-2026-11-30')).toBe(5);
  });

  it('forgets the least recently used tokens beyond maxTokens', async () => {
    const store = new MemoryCounters();
    const limiter = new RateWindowLimiter(store, { flushEvery: 10, flushIntervalMs: 1_000, maxTokens: 2 });
    for (const id of ['a', 'b', 'c']) await limiter.check(id, limits(1, 1), T0);
    // `a` was forgotten: its window starts again here (the bound counts it as one more container).
    expect(await limiter.check('a', limits(1, 1), T0)).toBe('ALLOWED');
    expect(await limiter.check('c', limits(1, 1), T0)).toBe('RATE_LIMITED');
  });
});

// ---------------------------------------------------------------------------------------------
// The bound, over interleavings: C containers (one limiter each) share the counters; every request
// is sent at once, each container decides its own in order, and the scheduler resolves the adds in
// any order. Per window: allowed ≤ allowance + (C − 1) × batch; and a refusal only once the window
// really allowed its allowance (the counts never run ahead of what was allowed).

const scenario = fc.record({
  containers: fc.integer({ min: 1, max: 4 }),
  flushEvery: fc.integer({ min: 1, max: 20 }),
  requestsPerSecond: fc.integer({ min: 1, max: 40 }),
  burst: fc.integer({ min: 1, max: 80 }),
  quota: fc.option(fc.integer({ min: 1, max: 150 }), { nil: null }),
  requests: fc.array(fc.record({ container: fc.nat(3), stepMs: fc.integer({ min: 0, max: 120 }) }), {
    minLength: 1,
    maxLength: 250,
  }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

async function run(s: fc.Scheduler, input: Scenario, fails: () => boolean) {
  const store = new MemoryCounters((task) => s.schedule(Promise.resolve(), 'add').then(task), fails);
  const limiters = Array.from({ length: input.containers }, () => limiterOn(store, input.flushEvery, 200));
  const tokenLimits = limits(
    input.requestsPerSecond,
    input.burst,
    input.quota === null ? null : { limit: input.quota, period: 'DAY' },
  );
  let now = T0;
  const sent = input.requests.map(({ container, stepMs }) => {
    now += stepMs;
    const at = now;
    const limiter = limiters[container % input.containers];
    if (limiter === undefined) throw new Error('no limiter');
    return limiter.check('tok', tokenLimits, at).then((decision) => ({ at, decision }));
  });
  const all = Promise.all(sent);
  await s.waitFor(all);
  return { decisions: await all, tokenLimits };
}

function tally(decisions: readonly { at: number; decision: RateDecision }[], tokenLimits: TokenLimits) {
  const rate = new Map<string, { allowance: number; allowed: number; limited: boolean }>();
  let quotaAllowed = 0;
  let quotaRefused = false;
  for (const { at, decision } of decisions) {
    const window = rateWindowOf(tokenLimits.rateLimit, at);
    const entry = rate.get(window.name) ?? { allowance: window.allowance, allowed: 0, limited: false };
    if (decision === 'ALLOWED') entry.allowed++;
    if (decision === 'RATE_LIMITED') entry.limited = true;
    rate.set(window.name, entry);
    if (decision === 'ALLOWED') quotaAllowed++;
    if (decision === 'QUOTA_EXCEEDED') quotaRefused = true;
  }
  return { rate: [...rate.values()], quotaAllowed, quotaRefused };
}

describe('accuracy bound across containers (fast-check)', () => {
  it('allows at most allowance + (C − 1) × batch per window, and refuses only once the allowance was reached', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), scenario, async (s, input) => {
        const { decisions, tokenLimits } = await run(s, input, () => false);
        const { rate, quotaAllowed, quotaRefused } = tally(decisions, tokenLimits);
        for (const window of rate) {
          expect(window.allowed).toBeLessThanOrEqual(
            allowedBound(window.allowance, input.containers, input.flushEvery),
          );
          if (window.limited) expect(window.allowed).toBeGreaterThanOrEqual(window.allowance);
        }
        if (tokenLimits.quota !== null) {
          expect(quotaAllowed).toBeLessThanOrEqual(
            allowedBound(tokenLimits.quota.limit, input.containers, input.flushEvery),
          );
          if (quotaRefused) expect(quotaAllowed).toBeGreaterThanOrEqual(tokenLimits.quota.limit);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('with failing flushes it stays within C × allowance per window (fail-open, never open-ended)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        scenario,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 50 }),
        async (s, input, pattern) => {
          let call = 0;
          const fails = () => pattern[call++ % pattern.length] === true;
          const { decisions, tokenLimits } = await run(s, input, fails);
          const { rate, quotaAllowed } = tally(decisions, tokenLimits);
          for (const window of rate) {
            expect(window.allowed).toBeLessThanOrEqual(input.containers * window.allowance);
          }
          if (tokenLimits.quota !== null) {
            expect(quotaAllowed).toBeLessThanOrEqual(input.containers * tokenLimits.quota.limit);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
