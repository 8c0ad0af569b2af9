import { mkdirSync, writeFileSync } from 'node:fs';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTokenLookup } from '../../lambdas/adapters/dynamo-token-lookup.js';
import { DynamoExpiringTokensQuery } from '../../lambdas/adapters/expiring-tokens-query.js';
import { DynamoIdempotencyStore } from '../../lambdas/adapters/idempotency-store.js';
import { tokenToItem } from '../../lambdas/adapters/items.js';
import type { TokenRecord } from '../../lambdas/core/model.js';
import type { Mailer, OutgoingEmail } from '../../lambdas/core/notifications/notifier.js';
import {
  planReminders,
  type ReminderPageResult,
  type ReminderQueue,
  type ReminderTask,
  runReminderTask,
} from '../../lambdas/core/notifications/reminders.js';
import type { Clock } from '../../lambdas/core/ports.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';

// Reminders at scale on DynamoDB Local: N tokens due within the window (seeded with BatchWrite),
// the scheduled run's plan, and two workers taking tasks off the queue as the deployed event source
// does (a page of 100, re-read consistently, claim, send, mark). Every token gets exactly one
// reminder, and a second run sends none. SES is a counting stand-in: the figure measured is what the
// table side sustains, which must stay above the reminders' share of SES's rate (7/s of an account's
// 14/s), so that SES, not the pipeline, sets the pace: 100,000 reminders then take about four hours,
// within their day. N is 300 by default (tens of seconds on a loaded 2-core machine), which checks
// exactly once; REMINDER_SCALE_TOKENS=100000 runs the full size and then also checks the pace
// (docs/performance.md has the figure): a rate is a measurement, and `npm test` asserts behaviour
// only, so a loaded machine cannot fail it. The figure is written to .test-results/reminders-scale.json.

const MEASURING = process.env.REMINDER_SCALE_TOKENS !== undefined;
const N = Number(process.env.REMINDER_SCALE_TOKENS ?? 300);
const WORKERS = 2;
const DAY_MS = 86_400_000;
const NOW = new Date();
const REMINDERS_SHARE_OF_SES_RATE = 7;

class CountingMailer implements Mailer {
  readonly perToken = new Map<string, number>();
  async send(email: OutgoingEmail) {
    const id = /^Token id:\s*(\S+)/m.exec(email.text)?.[1] ?? '?';
    this.perToken.set(id, (this.perToken.get(id) ?? 0) + 1);
    return { messageId: id };
  }
}

class MemoryQueue implements ReminderQueue {
  readonly tasks: ReminderTask[] = [];
  async enqueue(tasks: readonly ReminderTask[]) {
    this.tasks.push(...tasks);
  }
}

function tokenAt(index: number): TokenRecord {
  const createdAt = new Date(NOW.getTime() - 90 * DAY_MS).toISOString();
  // Spread over the window: every expiry day gets its share, several pages each.
  const expiresAt = new Date(NOW.getTime() + 3_600_000 + (index * 6.5 * DAY_MS) / N).toISOString();
  const id = `tok_scale${String(index).padStart(17, '0')}`;
  return {
    id,
    userId: `user-${index % 500}`,
    accountId: 'acct-scale',
    ownerEmail: `user-${index % 500}@scale.test`,
    name: `scale ${index}`,
    description: '',
    scopes: ['content:read'],
    type: 'standard',
    allowedIps: [],
    hint: 'atk_…abcd',
    secretHash: `hash-${id}`,
    keyVersion: 'v1',
    state: 'active',
    createdAt,
    expiresAt,
    lastUsedAt: null,
    rotatedAt: null,
    revokedAt: null,
    createdBy: `user-${index % 500}`,
    lastChange: {
      action: 'created',
      at: createdAt,
      actorUserId: `user-${index % 500}`,
      actorRole: 'member',
      sourceIp: undefined,
      userAgent: undefined,
    },
    version: 1,
    previousSecretHash: null,
    previousSecretNotAfter: null,
    limits: null,
  };
}

async function seed(table: TestTable): Promise<void> {
  const items = Array.from({ length: N }, (_, index) => tokenToItem(tokenAt(index)));
  const chunks: Record<string, unknown>[][] = [];
  for (let start = 0; start < items.length; start += 25) chunks.push(items.slice(start, start + 25));
  const writer = async () => {
    for (let chunk = chunks.pop(); chunk !== undefined; chunk = chunks.pop()) {
      let requests = chunk.map((Item) => ({ PutRequest: { Item } }));
      while (requests.length > 0) {
        const output = await table.documentClient.send(
          new BatchWriteCommand({ RequestItems: { [table.tableName]: requests } }),
        );
        requests = (output.UnprocessedItems?.[table.tableName] ?? []) as typeof requests;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, writer));
}

describe(`reminders for ${N} due tokens on DynamoDB Local`, () => {
  let table: TestTable;
  let seededMs = 0;

  beforeAll(
    async () => {
      table = await createTestTable();
      const started = performance.now();
      await seed(table);
      seededMs = performance.now() - started;
    },
    120_000 + N * 60,
  );

  afterAll(async () => {
    await table.drop();
  });

  async function run(mailer: CountingMailer): Promise<ReminderPageResult[]> {
    const queue = new MemoryQueue();
    const clock: Clock = { now: () => NOW };
    const deps = {
      windowDays: 7,
      queue,
      clock,
      tokens: new DynamoExpiringTokensQuery(table.documentClient, table.tableName),
      lookup: new DynamoTokenLookup(table.documentClient, table.tableName),
      store: new DynamoIdempotencyStore(table.documentClient, table.tableName),
      mailer,
    };
    await planReminders(deps);
    const results: ReminderPageResult[] = [];
    // Two workers, as the deployed event source runs them; a worker that finds the queue empty
    // while the other still works waits for what that one enqueues.
    let busy = 0;
    const worker = async () => {
      for (;;) {
        const task = queue.tasks.shift();
        if (task === undefined) {
          if (busy === 0) return;
          await new Promise((resolve) => setTimeout(resolve, 5));
          continue;
        }
        busy += 1;
        try {
          results.push(await runReminderTask(deps, task));
        } finally {
          busy -= 1;
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    return results;
  }

  it('every due token gets exactly one reminder (measuring: at a pace above what SES allows the reminders)', async () => {
    const mailer = new CountingMailer();
    const started = performance.now();
    const results = await run(mailer);
    const elapsedS = (performance.now() - started) / 1000;

    expect(results.reduce((sum, r) => sum + r.sent, 0)).toBe(N);
    expect(results.reduce((sum, r) => sum + r.failed + r.requeued, 0)).toBe(0);
    expect(mailer.perToken.size).toBe(N);
    expect([...mailer.perToken.values()].every((count) => count === 1)).toBe(true);

    const perSecond = N / elapsedS;
    mkdirSync('.test-results', { recursive: true });
    writeFileSync(
      '.test-results/reminders-scale.json',
      `${JSON.stringify({ tokens: N, seededSeconds: seededMs / 1000, runSeconds: elapsedS, remindersPerSecond: perSecond }, null, 2)}\n`,
    );
    if (MEASURING) expect(perSecond).toBeGreaterThan(REMINDERS_SHARE_OF_SES_RATE);

    // The next day's run (or a retried one) sends nothing more.
    const again = new CountingMailer();
    const second = await run(again);
    expect(again.perToken.size).toBe(0);
    expect(second.reduce((sum, r) => sum + r.alreadySent, 0)).toBe(N);
  }, 1_800_000);
});
