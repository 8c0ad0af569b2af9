// Pacing sends to SES's maximum send rate, and running a batch's sends fairly.
//
// SES refuses sends above the account's rate (`MaxSendRate`, emails per second) with a throttling
// error. A pacer spaces the starts of sends at 1/rate seconds (hand-written: a dozen lines, where a
// rate-limiter library would bring timers and queues we do not need), so one container never goes
// over its share, and the SDK's retries with backoff absorb what other containers add. The rate
// comes from configuration or from SES itself (lambdas/adapters/ses-send-rate.ts).

export interface SendRateSource {
  /** Emails per second this container may send. */
  maxSendRate(): Promise<number>;
}

/** A rate that never changes (configuration, tests). */
export function fixedSendRate(perSecond: number): SendRateSource {
  return { maxSendRate: async () => perSecond };
}

interface PacerClock {
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

// The monotonic clock, not Date: a wall clock that jumps ahead (NTP, a test that moves Date) would
// otherwise schedule every later send after the jump, and hold the emails back that long.
const realPacerClock: PacerClock = {
  nowMs: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Spaces the starts of sends at 1/rate seconds, in the order they asked (first come, first
 * served: one recipient asking again queues behind the others already waiting). `share` is the
 * part of the rate this pacer may use (e.g. a reminder worker's part of the account's rate).
 */
export class SendPacer {
  private nextStartMs = 0;

  constructor(
    private readonly rate: SendRateSource,
    private readonly share = 1,
    private readonly clock: PacerClock = realPacerClock,
  ) {}

  /** Resolves when the next send may start. */
  async acquire(): Promise<void> {
    const perSecond = (await this.rate.maxSendRate()) * this.share;
    const interval = perSecond > 0 && Number.isFinite(perSecond) ? 1000 / perSecond : 0;
    const now = this.clock.nowMs();
    const start = Math.max(now, this.nextStartMs);
    this.nextStartMs = start + interval;
    if (start > now) await this.clock.sleep(start - now);
  }
}

/** A first-come-first-served limit on how many sends run at once. */
export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= Math.max(1, this.limit)) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      // Hand the slot over directly: `running` stays the same.
      if (next !== undefined) next();
      else this.running -= 1;
    }
  }
}

/**
 * Runs each recipient's items in order, one at a time, and the recipients side by side under one
 * limit: with items queued first come, first served, a recipient with many items takes a turn like
 * any other, so one user's burst never holds back everyone else's emails. A recipient whose item
 * failed gets no more attempts in this run (its later items would only come out of order); `run`
 * returns false for an item it did not attempt.
 */
export async function runFairly<T>(
  items: readonly T[],
  laneOf: (item: T) => string,
  limit: ConcurrencyLimit,
  work: (item: T) => Promise<boolean>,
): Promise<Map<T, boolean>> {
  const lanes = new Map<string, T[]>();
  for (const item of items) {
    const lane = laneOf(item);
    const queue = lanes.get(lane);
    if (queue === undefined) lanes.set(lane, [item]);
    else queue.push(item);
  }
  const done = new Map<T, boolean>();
  await Promise.all(
    [...lanes.values()].map(async (queue) => {
      let failed = false;
      for (const item of queue) {
        if (failed) {
          done.set(item, false);
          continue;
        }
        const ok = await limit.run(() => work(item));
        done.set(item, ok);
        if (!ok) failed = true;
      }
    }),
  );
  return done;
}
