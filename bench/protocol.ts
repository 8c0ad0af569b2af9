import type { Summary } from './stats.js';

// What the orchestrator (run.ts) and the in-process worker (verify-worker.ts) exchange: the worker's
// mode and inputs come in BENCH_* environment variables, its result goes out as JSON in a file.

export const WORKER_ENV = {
  mode: 'BENCH_MODE',
  resultFile: 'BENCH_RESULT_FILE',
  /** The token's secret (a throwaway token on a throwaway table). */
  secret: 'BENCH_SECRET',
  /** The HMAC key file: the handler's key in `file` modes, the simulated KMS plaintext in `calls`. */
  keyFile: 'BENCH_KEY_FILE',
  iterations: 'BENCH_ITERATIONS',
  warmup: 'BENCH_WARMUP',
  durationMs: 'BENCH_DURATION_MS',
} as const;

export type WorkerMode = 'overhead' | 'cache' | 'calls';

export interface OverheadResult {
  readonly mode: 'overhead';
  readonly authorizer: Summary;
  /** POST /verify's handler (lambdas/verify-token) on the same token: its HTTP layer, decision and answer. */
  readonly verify: Summary;
  /** A new GetCommand per read, as the authorizer makes one. */
  readonly rawGetItem: Summary;
  /** For reference: one GetCommand object sent again each time (the baseline before 2026-11-30). */
  readonly rawGetItemReusedCommand: Summary;
  /** Where the authorizer's time outside its read goes (docs/performance.md "Overhead"). */
  readonly phases: OverheadPhases;
}

/**
 * The handler's time around its one read, and what one HMAC costs between reads (as the handler
 * runs it: after milliseconds of waiting on I/O) against back to back (as a cache-hit loop runs it).
 */
export interface OverheadPhases {
  /** From the handler's start to the credential read's start: event, checksum, key, HMAC, cache. */
  readonly beforeRead: Summary;
  /** From the read's end to the handler's answer: decision, policy, log line. */
  readonly afterRead: Summary;
  /** One HMAC of the token right after a raw read returned. */
  readonly hmacAfterIo: Summary;
  /** One HMAC of the token, back to back with others. */
  readonly hmacBackToBack: Summary;
}

export interface CacheResult {
  readonly mode: 'cache';
  readonly opsPerSec: number;
  /** Verifications per second of CPU time the worker used (all its threads): less sensitive to other load. */
  readonly opsPerCpuSecond: number;
  /** The floor, timed in slices alternating with the verifications: one HMAC and one line, per second. */
  readonly floorOpsPerSec: number;
  readonly floorOpsPerCpuSecond: number;
  readonly verifications: number;
  readonly elapsedMs: number;
  /** DynamoDB reads during the timed loop (0 when every verification was a cache hit). */
  readonly ddbReads: number;
  /** Outside the timing: lines written per cache-hit verification (1: one line per decision). */
  readonly logLinesPerVerification: number;
  /** Of those, VALID decision lines with the Lambda context fields, per verification (1). */
  readonly decisionLinesPerVerification: number;
  /** HMACs computed per cache-hit verification (1: the cache is keyed by the HMAC). */
  readonly hmacsPerVerification: number;
}

/** SDK calls by command name, e.g. { GetItemCommand: 1, DecryptCommand: 1 }. */
export type CallCounts = Readonly<Record<string, number>>;

export interface CallsResult {
  readonly mode: 'calls';
  /** Init plus the first verification of a fresh module instance. */
  readonly cold: CallCounts;
  /** All calls of `warmVerifications` later uncached verifications. */
  readonly warm: CallCounts;
  readonly warmVerifications: number;
}

export type WorkerResult = OverheadResult | CacheResult | CallsResult;

export const READ_COMMANDS = new Set([
  'GetItemCommand',
  'BatchGetItemCommand',
  'QueryCommand',
  'ScanCommand',
  'TransactGetItemsCommand',
]);
export const WRITE_COMMANDS = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);
