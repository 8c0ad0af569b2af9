// Small statistics helpers for the benchmark: nearest-rank percentiles over raw samples.

export interface Summary {
  readonly count: number;
  readonly medianMs: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error('percentile of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

export function summarize(samples: readonly number[]): Summary {
  const total = samples.reduce((sum, value) => sum + value, 0);
  return {
    count: samples.length,
    medianMs: round(percentile(samples, 50)),
    p99Ms: round(percentile(samples, 99)),
    meanMs: round(total / samples.length),
  };
}

/** Rounds to `digits` decimals (3 by default: microseconds for values in ms). */
export function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
