import type { LastUsedThrottle } from './last-used-throttle.js';
import type { LastUsedRecorder } from './ports.js';

// Recording a token's lastUsedAt from the token authorizer (and the verify API, which runs the same
// decision: lambdas/verify-token), off the response path. lastUsedAt is
// information for the token's owner, not part of the decision: it must never slow a verification
// (so it is started and not awaited) and never fail one (so every way it can fail, a synchronous
// throw included, ends in one warn line, and no rejection is ever left unhandled, which on
// Node's default `--unhandled-rejections=throw` would crash the container mid-request).
//
// Lambda freezes the container once the response is returned, so an update still in flight
// completes on the next invocation (or is lost when the container is retired). That is acceptable
// for a best-effort timestamp that is rewritten every interval while the token is in use.

export interface LastUsedTracking {
  readonly recorder: LastUsedRecorder;
  readonly throttle: LastUsedThrottle;
  readonly intervalMs: number;
  /** Called at most once per failed attempt; must not throw (its own failure is swallowed anyway). */
  readonly onFailure: (tokenId: string, error: unknown) => void;
}

function reportFailure(tracking: LastUsedTracking, tokenId: string, error: unknown): void {
  try {
    tracking.onFailure(tokenId, error);
  } catch {
    // Nothing left to tell: the failure report itself failed, and the decision stands.
  }
}

/**
 * Starts recording a use of the token at `nowMs` unless this container already tried within the
 * interval. Returns the attempt (resolving to whether it wrote, or false on failure), for tests;
 * callers on the response path ignore it. Never throws, and the returned promise never rejects.
 */
export function recordUseInBackground(
  tracking: LastUsedTracking,
  tokenId: string,
  nowMs: number,
): Promise<boolean> | undefined {
  if (!tracking.throttle.tryAcquire(tokenId, nowMs)) return undefined;
  // notBefore = now − interval: the conditional update writes only if nobody (in any container)
  // recorded a use within the interval, so the table sees at most one write per interval.
  const at = new Date(nowMs);
  const notBefore = new Date(nowMs - tracking.intervalMs);
  let attempt: Promise<boolean>;
  try {
    // Promise.resolve: a recorder that returns a non-promise (or a foreign thenable) is still caught.
    attempt = Promise.resolve(tracking.recorder.recordUse(tokenId, at, notBefore));
  } catch (error) {
    reportFailure(tracking, tokenId, error);
    return Promise.resolve(false);
  }
  return attempt.catch((error: unknown) => {
    reportFailure(tracking, tokenId, error);
    return false;
  });
}
