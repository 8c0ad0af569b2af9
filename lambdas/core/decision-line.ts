import type { PathIssue } from './gateway-scope.js';

// The one log line each token decision writes, shared by the token authorizer and POST /verify
// (docs/verify.md): one message, so one CloudWatch Logs Insights query finds every decision, and
// one field order, so the lines read alike whichever way the token came in. Never the token, the
// header or the hash.

/** The message of every decision line; the `gateway` field tells authorizer and verify apart. */
export const DECISION_MESSAGE = 'token authorizer decision';

/** A decision line's own fields, in the order they are written. */
export type DecisionFields<Reason extends string, Gateway extends string> = {
  reason: Reason;
  gateway: Gateway | undefined;
  method: string | undefined;
  area: string | undefined;
  tokenId?: string;
  userId?: string;
  /** Only for a well-formed token that is not ours (or whose check failed): prefix and last four characters. */
  hint?: string;
  requiredScope?: string;
  /** For a refused path: what is wrong with the path (never the path itself). */
  pathIssue?: PathIssue;
  errorName?: string;
  latencyMs?: number;
};

/** Milliseconds since `startedAt` (performance.now()), to the microsecond. */
export const latencyMsSince = (startedAt: number): number =>
  Math.round((performance.now() - startedAt) * 1000) / 1000;
