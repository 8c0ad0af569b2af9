import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CancellationReason } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';

// One TransactWriteItems attempt, with its cancellation reasons mapped back to named parts, and
// the retry budget the token repository shares across its transactions.
//
// DynamoDB cancels a transaction that touches an item another transaction is writing at the same
// moment (`TransactionConflict`): every create, revoke and release of one account updates the
// account's counter, so under load that is routine rather than exceptional. Those attempts wrote
// nothing and are retried with jittered exponential backoff; a failed condition is an answer and
// is handed back to the caller, which decides what it means.

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** A transaction part with a name, so a cancellation reason can be traced back to it. */
export interface TaggedItem<Tag extends string> {
  readonly tag: Tag;
  readonly item: TransactItem;
}

type TransactResult<Tag extends string> =
  | { readonly committed: true }
  | {
      readonly committed: false;
      /** Parts whose condition failed; empty when the only reason was a conflict. */
      readonly failed: ReadonlySet<Tag>;
      readonly error: Error;
    };

export interface RetryOptions {
  /** Attempts per operation, conflicts and condition-driven re-tries together. */
  readonly maxAttempts: number;
  /** First backoff step; it doubles per attempt, capped at `maxDelayMs`. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

// Twelve attempts over 2-4 s let 30 writers of one counter all get through even when each holds
// it for 50 ms (test/integration/limits-concurrency.test.ts), while a create that must also
// release expired slots and try again stays well inside the management functions' 10 s timeout.
export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 12, baseDelayMs: 20, maxDelayMs: 500 };

export class Transactor {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly retry: RetryOptions = DEFAULT_RETRY,
  ) {}

  /**
   * Sends the parts once. Resolves with what failed when DynamoDB cancelled the transaction for a
   * failed condition or a conflict; throws anything else (throttling, validation, network).
   */
  async send<Tag extends string>(parts: readonly TaggedItem<Tag>[]): Promise<TransactResult<Tag>> {
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: parts.map((part) => part.item),
          // Fresh per attempt: the SDK's own resend of this request after a lost response is then
          // a no-op success instead of a second write (or a failed condition on our own write).
          ClientRequestToken: randomUUID(),
        }),
      );
      return { committed: true };
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (reasons === undefined || !(error instanceof Error)) throw error;
      const failed = new Set<Tag>();
      let conflict = false;
      for (const [index, reason] of reasons.entries()) {
        const code = reason.Code ?? 'None';
        if (code === 'None') continue;
        const part = parts[index];
        if (code === 'ConditionalCheckFailed' && part !== undefined) failed.add(part.tag);
        else if (code === 'TransactionConflict') conflict = true;
        else throw error;
      }
      if (failed.size === 0 && !conflict) throw error;
      return { committed: false, failed, error };
    }
  }

  /** Waits before attempt `attempt + 1`; throws `error` instead when the budget is spent. */
  async backoffOrThrow(attempt: number, error: Error): Promise<void> {
    if (attempt >= this.retry.maxAttempts) throw error;
    const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    // Half fixed, half random: contenders spread out, and none retries almost at once.
    await sleep(Math.round(ceiling / 2 + (Math.random() * ceiling) / 2));
  }

  /** Throws `error` when the budget is spent; for re-tries that change the request, so no wait. */
  checkBudget(attempt: number, error: Error): void {
    if (attempt >= this.retry.maxAttempts) throw error;
  }
}

/** The reasons of a cancelled transaction; undefined for any other error. */
export function cancellationReasons(error: unknown): readonly CancellationReason[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons: unknown = (error as { CancellationReasons?: unknown }).CancellationReasons;
  return Array.isArray(reasons) ? (reasons as CancellationReason[]) : [];
}

/** Items without undefined values at any depth, whatever the client's marshalling options. */
export function dropUndefined<T extends Record<string, unknown>>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
