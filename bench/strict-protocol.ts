import type { Summary } from './stats.js';

// What run.ts and strict-worker.ts exchange: inputs in BENCH_* variables, the result as JSON in a file.

export const STRICT_WORKER_ENV = {
  secret: 'BENCH_SECRET',
  resultFile: 'BENCH_RESULT_FILE',
  sliceMs: 'BENCH_SLICE_MS',
  slices: 'BENCH_SLICES',
} as const;

export interface StrictArm {
  readonly opsPerSec: number;
  readonly latency: Summary;
}

export interface StrictResult {
  readonly plain: StrictArm;
  readonly strict: StrictArm;
  /** One counter UpdateItem (ADD, answering the total) on its own item, timed in the same slices. */
  readonly counterWrite: StrictArm;
  /** Counter UpdateItems per strict verification (batched: about 1 per 10 per counter). */
  readonly counterWritesPerVerification: number;
  /** Strict calls refused (RATE_LIMITED / QUOTA_EXCEEDED): 0 in a valid run. */
  readonly refused: number;
}
