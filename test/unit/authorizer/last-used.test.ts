import { describe, expect, it, vi } from 'vitest';
import { type LastUsedTracking, recordUseInBackground } from '../../../lambdas/core/last-used.js';
import { LastUsedThrottle } from '../../../lambdas/core/last-used-throttle.js';
import type { LastUsedRecorder } from '../../../lambdas/core/ports.js';

function tracking(recordUse: LastUsedRecorder['recordUse'], onFailure = vi.fn()): LastUsedTracking {
  return {
    recorder: { recordUse: vi.fn(recordUse) },
    throttle: new LastUsedThrottle({ intervalMs: 60_000, maxEntries: 100 }),
    intervalMs: 60_000,
    onFailure,
  };
}

describe('recordUseInBackground', () => {
  it('passes at = now and notBefore = now − interval, once per interval', async () => {
    const t = tracking(async () => true);
    await expect(recordUseInBackground(t, 'tok_1', 1_000_000)).resolves.toBe(true);
    expect(recordUseInBackground(t, 'tok_1', 1_000_500)).toBeUndefined();
    expect(t.recorder.recordUse).toHaveBeenCalledTimes(1);
    expect(t.recorder.recordUse).toHaveBeenCalledWith('tok_1', new Date(1_000_000), new Date(940_000));
  });

  it('never rejects and never throws: a rejection, a synchronous throw, a throwing reporter', async () => {
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const onFailure = vi.fn();
      const rejecting = tracking(async () => {
        throw new Error('boom');
      }, onFailure);
      await expect(recordUseInBackground(rejecting, 'a', 0)).resolves.toBe(false);
      const throwing = tracking(() => {
        throw new Error('sync');
      }, onFailure);
      await expect(recordUseInBackground(throwing, 'b', 0)).resolves.toBe(false);
      expect(onFailure).toHaveBeenCalledTimes(2);
      const badReporter = tracking(
        async () => {
          throw new Error('boom');
        },
        vi.fn(() => {
          throw new Error('reporter');
        }),
      );
      await expect(recordUseInBackground(badReporter, 'c', 0)).resolves.toBe(false);
      // Fire-and-forget as the handler does it: nothing may surface as an unhandled rejection.
      recordUseInBackground(rejecting, 'd', 0);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});
