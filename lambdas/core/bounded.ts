// Bounded concurrency for fan-outs (revoke-all, the token-access switch): a few writes in flight,
// never one per item at once, so a large account does not throttle its own table.

/**
 * Runs `work` over `items` with at most `limit` in flight. On the first failure no new item is
 * started; the ones in flight finish (their writes are not left to race a retry), then it throws.
 */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  // One iterator shared by the workers: each `next()` hands out a different item.
  const pending = items.values();
  let failure: { readonly error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    for (const item of pending) {
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
      if (failure !== undefined) return;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure !== undefined) throw failure.error;
}
