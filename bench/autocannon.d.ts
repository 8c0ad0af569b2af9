// The part of autocannon 8's programmatic API the benchmark uses (the package ships no types, and
// @types/autocannon is not installed).

declare module 'autocannon' {
  interface Options {
    readonly url: string;
    readonly connections?: number;
    /** Seconds. */
    readonly duration?: number;
    readonly method?: string;
    readonly headers?: Readonly<Record<string, string>>;
    /** Seconds without a response before a request counts as a timeout (default 10). */
    readonly timeout?: number;
    readonly renderProgressBar?: boolean;
    /** A run before the measured one, left out of the result. */
    readonly warmup?: { readonly connections?: number; readonly duration?: number };
  }

  interface Histogram {
    readonly average: number;
    readonly mean: number;
    readonly stddev: number;
    readonly min: number;
    readonly max: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly total: number;
  }

  interface Result {
    readonly duration: number;
    readonly errors: number;
    readonly timeouts: number;
    readonly non2xx: number;
    readonly resets: number;
    readonly '2xx': number;
    readonly statusCodeStats: Readonly<Record<string, { readonly count: number }>>;
    readonly latency: Histogram;
    readonly requests: Histogram & { readonly sent: number };
  }

  function autocannon(options: Options): PromiseLike<Result>;
  export default autocannon;
}
