import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VerificationCache } from '../../../lambdas/core/verification-cache.js';

const options = { ttlMs: 1_000, negativeTtlMs: 200, maxEntries: 3 };

describe('VerificationCache', () => {
  it('serves a stored credential until its TTL, then misses', () => {
    const cache = new VerificationCache<string>(options);
    cache.store('h1', 'credential', 0);
    expect(cache.lookup('h1', 999)).toEqual({ hit: true, value: 'credential' });
    expect(cache.lookup('h1', 1_000)).toEqual({ hit: false });
  });

  it('keeps "not found" only for the shorter negative TTL', () => {
    const cache = new VerificationCache<string>(options);
    cache.store('unknown', undefined, 0);
    expect(cache.lookup('unknown', 199)).toEqual({ hit: true, value: undefined });
    expect(cache.lookup('unknown', 200)).toEqual({ hit: false });
  });

  it('evicts the least recently used entry when full', () => {
    const cache = new VerificationCache<string>(options);
    cache.store('a', 'A', 0);
    cache.store('b', 'B', 0);
    cache.store('c', 'C', 0);
    cache.lookup('a', 1); // a is now the most recent
    cache.store('d', 'D', 1);
    expect(cache.lookup('b', 2)).toEqual({ hit: false });
    expect(cache.lookup('a', 2)).toEqual({ hit: true, value: 'A' });
    expect(cache.size).toBe(3);
  });

  it('stores nothing when its TTLs are 0 (revocation window 0)', () => {
    const cache = new VerificationCache<string>({ ttlMs: 0, negativeTtlMs: 0, maxEntries: 100 });
    cache.store('h', 'credential', 0);
    cache.store('n', undefined, 0);
    expect(cache.enabled).toBe(false);
    expect(cache.lookup('h', 0)).toEqual({ hit: false });
    expect(cache.lookup('n', 0)).toEqual({ hit: false });
  });

  it('never holds more than maxEntries and never serves an expired entry', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            op: fc.constantFrom('store', 'lookup'),
            key: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
            found: fc.boolean(),
            advanceMs: fc.nat(400),
          }),
          { maxLength: 60 },
        ),
        (steps) => {
          const cache = new VerificationCache<string>(options);
          const storedAt = new Map<string, { at: number; found: boolean }>();
          let now = 0;
          for (const step of steps) {
            now += step.advanceMs;
            if (step.op === 'store') {
              cache.store(step.key, step.found ? step.key : undefined, now);
              storedAt.set(step.key, { at: now, found: step.found });
            } else {
              const result = cache.lookup(step.key, now);
              if (result.hit) {
                const stored = storedAt.get(step.key);
                expect(stored).toBeDefined();
                const ttl = stored?.found ? options.ttlMs : options.negativeTtlMs;
                expect(now - (stored?.at ?? 0)).toBeLessThan(ttl);
                expect(result.value).toBe(stored?.found ? step.key : undefined);
              }
            }
            expect(cache.size).toBeLessThanOrEqual(options.maxEntries);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
  it('answers like a plain least-recently-used model for any sequence of stores, lookups and clears', () => {
    // The model: an array, most recent last, every lookup and store moving its key to the end.
    type Op = { kind: 'store' | 'lookup'; key: string; at: number; found: boolean } | { kind: 'clear' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constantFrom('store' as const, 'lookup' as const),
        key: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
        at: fc.integer({ min: 0, max: 50 }),
        found: fc.boolean(),
      }),
      fc.constant({ kind: 'clear' as const }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const cache = new VerificationCache<string>({ ttlMs: 30, negativeTtlMs: 10, maxEntries: 3 });
        let model: { key: string; value: string | undefined; expiresAtMs: number }[] = [];
        let now = 0;
        for (const step of ops) {
          if (step.kind === 'clear') {
            cache.clear();
            model = [];
            continue;
          }
          now += step.at;
          const existing = model.find((entry) => entry.key === step.key);
          model = model.filter((entry) => entry.key !== step.key);
          if (step.kind === 'store') {
            const value = step.found ? `credential-${step.key}` : undefined;
            cache.store(step.key, value, now);
            model.push({ key: step.key, value, expiresAtMs: now + (step.found ? 30 : 10) });
            if (model.length > 3) model.shift();
          } else {
            const expected =
              existing === undefined || existing.expiresAtMs <= now
                ? { hit: false }
                : { hit: true, value: existing.value };
            if (existing !== undefined && existing.expiresAtMs > now) model.push(existing);
            expect(cache.lookup(step.key, now)).toEqual(expected);
          }
          expect(cache.size).toBe(model.length);
        }
      }),
      { numRuns: 500 },
    );
  });
});
