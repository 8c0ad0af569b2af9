import { cpus, loadavg } from 'node:os';

// Time in the tests. Waits are for an event (a line printed, a process gone, a value in a table),
// polled where there is nothing to listen to; every deadline is a last-resort guard against a hang,
// sized for a loaded 2-core machine and multiplied by TIME_SCALE:
//   - TEST_TIME_SCALE from the environment, if set (e.g. TEST_TIME_SCALE=3 on a very slow machine);
//   - otherwise the 1-minute load per core when vitest started (vitest.config.ts sets it once for
//     all workers), from 1 to 4: a run that starts on a busy machine gets more room; past 4 a hang
//     would only be reported later.

export const TIME_SCALE_ENV = 'TEST_TIME_SCALE';
const MAX_DERIVED_SCALE = 4;

/** The scale for a run starting now: the environment's, or the 1-minute load per core (1 to 4). */
export function timeScaleForThisMachine(env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number(env[TIME_SCALE_ENV]);
  if (Number.isFinite(fromEnv) && fromEnv >= 1) return fromEnv;
  const perCore = (loadavg()[0] ?? 0) / Math.max(1, cpus().length);
  return Math.min(MAX_DERIVED_SCALE, Math.max(1, Math.round(perCore * 10) / 10));
}

const TIME_SCALE = timeScaleForThisMachine();

/** A deadline, scaled for this machine. */
export function scaled(ms: number): number {
  return Math.round(ms * TIME_SCALE);
}

/**
 * Probes until `done` holds, then returns that value; after `ceilingMs` (scaled) returns the last
 * value anyway, for the caller's assertion to show what was there.
 */
export async function pollUntil<T>(
  probe: () => T | Promise<T>,
  done: (value: T) => boolean,
  { ceilingMs = 30_000, intervalMs = 100 }: { ceilingMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = performance.now() + scaled(ceilingMs);
  for (;;) {
    const value = await probe();
    if (done(value) || performance.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Polls a condition every 50 ms until it holds (or the scaled ceiling passes). */
export function untilTrue(condition: () => boolean): Promise<boolean> {
  return pollUntil(condition, (held) => held, { intervalMs: 50 });
}

/**
 * Waits `ms` (scaled) with nothing to listen to: the quiet period after which a test checks that
 * something did NOT happen (a second email, another delivery). Scaled, so a loaded run still gives
 * a late duplicate the time to show up.
 */
export function quietFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, scaled(ms)));
}
