import type { TokenRecord } from '../model.js';
import { type SyncUsageKeyDeps, syncUsageKey } from './sync-usage-key.js';

// Gives every active token its usage key, as for a new token (docs/rate-limits.md): the local stack
// at start (the emulator's keys went with the last process, the table's tokens did not) and
// `npm run sync:usage-keys` after upgrading a deployment whose tokens predate usage keys. Each call is
// idempotent, so running it again, or beside the stream consumer, changes nothing twice.

interface ReconcileOutcome {
  /** Tokens whose key was created or put in its plan. */
  readonly assigned: number;
  /** Tokens that could not be given their key (their type is no longer configured, a gateway error). */
  readonly failed: number;
}

export async function reconcileUsageKeys(
  deps: SyncUsageKeyDeps,
  activeTokens: AsyncIterable<TokenRecord>,
  onFailed: (tokenId: string, error: unknown) => void,
): Promise<ReconcileOutcome> {
  let assigned = 0;
  let failed = 0;
  for await (const token of activeTokens) {
    try {
      if ((await syncUsageKey(deps, { before: undefined, after: token })) === 'assigned') assigned += 1;
    } catch (error) {
      failed += 1;
      onFailed(token.id, error);
    }
  }
  return { assigned, failed };
}
