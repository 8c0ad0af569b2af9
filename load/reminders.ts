import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESClient } from '@aws-sdk/client-ses';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { runScope, stopAllChildren, track } from '../bench/children.js';
import { round } from '../bench/stats.js';
import { DynamoOwnerContacts } from '../lambdas/adapters/dynamo-owner-contacts.js';
import { DynamoTokenLookup } from '../lambdas/adapters/dynamo-token-lookup.js';
import { DynamoExpiringTokensQuery } from '../lambdas/adapters/expiring-tokens-query.js';
import { DynamoIdempotencyStore } from '../lambdas/adapters/idempotency-store.js';
import { tokenToItem } from '../lambdas/adapters/items.js';
import { SesMailer } from '../lambdas/adapters/ses-mailer.js';
import { parseReminderTask } from '../lambdas/adapters/sqs-reminder-queue.js';
import type { TokenRecord } from '../lambdas/core/model.js';
import type { Mailer, OutgoingEmail } from '../lambdas/core/notifications/notifier.js';
import { fixedSendRate, SendPacer } from '../lambdas/core/notifications/pacing.js';
import {
  planReminders,
  REMINDER_RATE_SHARE,
  REMINDER_WORKERS,
  type ReminderPageResult,
  type ReminderQueue,
  type ReminderTask,
  type ReminderWorkerDeps,
  runReminderTask,
} from '../lambdas/core/notifications/reminders.js';
import {
  findFreePort,
  type RunningService,
  startDynamoDbLocal,
  startSesEmulator,
} from '../local/emulators.js';
import { ensureTable } from '../local/table.js';

// `npm run test:load:reminders`: issue #18 item 5, "at 100,000 tokens due in the window every
// reminder goes out on its day", measured. On DynamoDB Local (in memory, its own process):
// 1. seeds --tokens token items (100,000 by default), every one due for its reminder today, their
//    expiries spread over --days UTC days of the window, with BatchWriteItem from 16 writers;
// 2. runs the reminder job as deployed, minus the SQS transport: the scheduled plan (one task per
//    expiry day), then REMINDER_WORKERS workers taking tasks off a queue (each task's body goes
//    through JSON and the SQS adapter's parser, as an SQS message does), each task run by the real
//    runReminderTask with the real adapters (byExpiryDay page, consistent BatchGetItem re-read,
//    owner contact read, idempotency claim and mark) and a SendPacer per worker at its share of
//    --ses-rate (REMINDER_RATE_SHARE / REMINDER_WORKERS, as lambdas/reminder-job/handler.ts);
// 3. checks that every token got exactly one reminder, and a second run sends none.
//
// Time: waiting out SES's pace for real (100,000 reminders at 14/s take hours) would measure
// nothing but setTimeout. So each worker's pacer runs on a virtual clock: a pacer "sleep" moves that
// worker's clock instead of waiting, and a task enqueued by a worker becomes ready at that worker's
// virtual time (a day's next page is queued when its page is done, as in runReminderTask). The
// virtual time at which the last reminder goes out is when the run would end at that SES rate; the
// real time the whole run took is what the table side needs. The run passes when both fit the day
// (--budget-hours, 16 by default: from the 08:00 UTC schedule to midnight UTC) and the table side
// is faster than the pacing (so SES's rate, not DynamoDB, sets the pace).
//
// Mailer: a counting stand-in by default (--mailer count). The SES emulator (aws-ses-v2-local)
// keeps every email, text and HTML, in one in-memory array and hands them out only as one JSON
// document (GET /store): at 100,000 reminders that is several hundred MB in one response, and an
// HTTP round trip per email through a second Node process on the same two cores. --mailer ses sends
// through the real SES adapter to the emulator and checks its store's count (for runs up to 20,000).

const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '100000' },
    days: { type: 'string', default: '7' },
    'ses-rate': { type: 'string', default: '14' },
    'budget-hours': { type: 'string', default: '16' },
    mailer: { type: 'string', default: 'count' },
    writers: { type: 'string', default: '16' },
    /** A second run that must send nothing; default: on up to 10,000 tokens (it re-reads them all). */
    rerun: { type: 'string', default: 'auto' },
  },
});
const N = Number(values.tokens);
const SPREAD_DAYS = Number(values.days);
const SES_RATE = Number(values['ses-rate']);
const BUDGET_S = Number(values['budget-hours']) * 3600;
const MAILER = values.mailer;
const WRITERS = Number(values.writers);
const RERUN = values.rerun === 'auto' ? N <= 10_000 : values.rerun === 'true';
const WINDOW_DAYS = 7;
const DAY_MS = 86_400_000;
const SES_STORE_LIMIT = 20_000;
for (const [name, value] of Object.entries({ N, SPREAD_DAYS, SES_RATE, BUDGET_S, WRITERS })) {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`bad value for ${name}: ${value}`);
}
if (SPREAD_DAYS > WINDOW_DAYS) throw new Error(`--days must be at most the window (${WINDOW_DAYS})`);
if (MAILER !== 'count' && MAILER !== 'ses') throw new Error('--mailer is count or ses');
if (MAILER === 'ses' && N > SES_STORE_LIMIT)
  throw new Error(`--mailer ses takes at most ${SES_STORE_LIMIT} tokens`);

const startedAt = Date.now();
const log = (line: string) =>
  console.log(`[reminders ${((Date.now() - startedAt) / 1000).toFixed(1)} s] ${line}`);
const { removeDir, interrupted } = runScope('atk-load-reminders-');

/** Today at 08:00 UTC, when the scheduled run starts (lib/constructs/notifications.ts). */
const RUN_AT = (() => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 8));
})();

function tokenAt(index: number): TokenRecord {
  // Created 90 days ago: every token is past half its life, so due as soon as it is in the window.
  const createdAt = new Date(RUN_AT.getTime() - 90 * DAY_MS).toISOString();
  // Spread over SPREAD_DAYS UTC days from today's (--days 1: one chain of pages, the worst case),
  // all within the window.
  const day = index % SPREAD_DAYS;
  const expiresAt = new Date(
    RUN_AT.getTime() + 3_600_000 + day * DAY_MS + (index % 3600) * 1000,
  ).toISOString();
  const id = `tok_load${String(index).padStart(18, '0')}`;
  const user = `user-${index % 1000}`;
  return {
    id,
    userId: user,
    accountId: `acct-${index % 50}`,
    ownerEmail: `${user}@load.test`,
    name: `load ${index}`,
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
    createdBy: user,
    lastChange: {
      action: 'created',
      at: createdAt,
      actorUserId: user,
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

async function seed(client: DynamoDBDocumentClient, tableName: string): Promise<void> {
  let next = 0;
  let written = 0;
  let lastReport = Date.now();
  const writer = async () => {
    for (;;) {
      const start = next;
      if (start >= N) return;
      next = Math.min(N, start + 25);
      let requests = Array.from({ length: next - start }, (_, offset) => ({
        PutRequest: { Item: tokenToItem(tokenAt(start + offset)) },
      }));
      while (requests.length > 0) {
        const output = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
        const unprocessed = (output.UnprocessedItems?.[tableName] ?? []) as typeof requests;
        written += requests.length - unprocessed.length;
        requests = unprocessed;
      }
      if (Date.now() - lastReport > 30_000) {
        lastReport = Date.now();
        log(`seeded ${written} of ${N}`);
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
}

/** Counts each token's reminders (the token id is in every email's text), before passing it on. */
class CountingMailer implements Mailer {
  readonly perToken = new Map<string, number>();
  constructor(private readonly next: Mailer | undefined) {}
  async send(email: OutgoingEmail) {
    const id = /^Token id:\s*(\S+)/m.exec(email.text)?.[1] ?? '?';
    const result = this.next === undefined ? { messageId: id } : await this.next.send(email);
    this.perToken.set(id, (this.perToken.get(id) ?? 0) + 1);
    return result;
  }
}

interface Queued {
  readonly body: string;
  /** Virtual ms at which the task is on the queue. */
  readonly readyAtMs: number;
}

interface Worker {
  /** This worker's virtual clock, ms since the scheduled run started. */
  virtualMs: number;
  sends: number;
  /** Real ms spent on tasks. */
  busyMs: number;
}

interface RunResult {
  readonly results: ReminderPageResult[];
  readonly workers: Worker[];
  readonly realS: number;
  /** When the last reminder would go out at the SES rate: the latest worker's virtual time. */
  readonly pacedS: number;
  readonly tasks: number;
}

async function run(client: DynamoDBDocumentClient, tableName: string, mailer: Mailer): Promise<RunResult> {
  const queue: Queued[] = [];
  const queueFor = (stamp: () => number): ReminderQueue => ({
    async enqueue(tasks: readonly ReminderTask[]) {
      for (const task of tasks) {
        // A retry waits on the queue as SQS's DelaySeconds would make it (a minute per attempt).
        const delayMs = task.type === 'retry' ? 60_000 * task.attempt : 0;
        queue.push({ body: JSON.stringify(task), readyAtMs: stamp() + delayMs });
      }
    },
  });
  const shared = {
    windowDays: WINDOW_DAYS,
    clock: { now: () => RUN_AT },
    tokens: new DynamoExpiringTokensQuery(client, tableName),
    lookup: new DynamoTokenLookup(client, tableName),
    contacts: new DynamoOwnerContacts(client, tableName),
    store: new DynamoIdempotencyStore(client, tableName),
    mailer,
  };
  await planReminders({ ...shared, queue: queueFor(() => 0) });

  const results: ReminderPageResult[] = [];
  const workers: Worker[] = [];
  let busy = 0;
  let tasks = 0;
  const started = performance.now();
  const work = async (worker: Worker) => {
    const pacer = new SendPacer(fixedSendRate(SES_RATE), REMINDER_RATE_SHARE / REMINDER_WORKERS, {
      nowMs: () => worker.virtualMs,
      // The pacer reads the clock and sleeps in one synchronous step: the start it waits for.
      sleep: async (ms) => {
        worker.virtualMs += ms;
      },
    });
    const deps: ReminderWorkerDeps = {
      ...shared,
      queue: queueFor(() => worker.virtualMs),
      beforeSend: async () => {
        await pacer.acquire();
        worker.sends += 1;
      },
    };
    for (;;) {
      // The task that was on the queue first (SQS hands out what is visible, roughly oldest first).
      let first = -1;
      for (let i = 0; i < queue.length; i++) {
        if (first < 0 || (queue[i]?.readyAtMs ?? 0) < (queue[first]?.readyAtMs ?? 0)) first = i;
      }
      const queued = first < 0 ? undefined : queue.splice(first, 1)[0];
      if (queued === undefined) {
        if (busy === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 5));
        continue;
      }
      busy += 1;
      tasks += 1;
      worker.virtualMs = Math.max(worker.virtualMs, queued.readyAtMs);
      const taskStarted = performance.now();
      try {
        results.push(await runReminderTask(deps, parseReminderTask(queued.body)));
      } finally {
        worker.busyMs += performance.now() - taskStarted;
        busy -= 1;
      }
    }
  };
  for (let i = 0; i < REMINDER_WORKERS; i++) workers.push({ virtualMs: 0, sends: 0, busyMs: 0 });
  await Promise.all(workers.map(work));
  const realS = (performance.now() - started) / 1000;
  const pacedS = Math.max(...workers.map((worker) => worker.virtualMs)) / 1000;
  return { results, workers, realS, pacedS, tasks };
}

const sum = (results: readonly ReminderPageResult[], key: keyof ReminderPageResult) =>
  results.reduce((total, result) => total + result[key], 0);

async function scenario(dynamo: RunningService, ses: RunningService | undefined): Promise<boolean> {
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const raw = new DynamoDBClient({ endpoint: dynamo.url, region: 'us-east-1', credentials });
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  const tableName = 'reminders-load';
  await ensureTable(raw, tableName);

  log(
    `seeding ${N} tokens due today, expiring over ${SPREAD_DAYS} day(s), ${WRITERS} BatchWriteItem writers...`,
  );
  const seedStarted = performance.now();
  await seed(client, tableName);
  const seedS = (performance.now() - seedStarted) / 1000;
  log(`seeded in ${round(seedS, 1)} s (${round(N / seedS, 0)} items/s)`);

  const sesMailer =
    ses === undefined
      ? undefined
      : new SesMailer(new SESClient({ endpoint: ses.url, region: 'us-east-1', credentials }), {
          senderAddress: 'tokens@load.test',
        });
  const mailer = new CountingMailer(sesMailer);
  log(
    `run 1: plan + ${REMINDER_WORKERS} workers, SES rate ${SES_RATE}/s (reminders: ${SES_RATE * REMINDER_RATE_SHARE}/s)...`,
  );
  const first = await run(client, tableName, mailer);
  log(`run 1 done in ${round(first.realS, 1)} s real, ${first.tasks} tasks`);

  const again = new CountingMailer(sesMailer);
  let second: RunResult | undefined;
  if (RERUN) {
    log('run 2 (the next day, or a retried run): nothing more may go out...');
    second = await run(client, tableName, again);
  }

  let sesStored: number | undefined;
  if (ses !== undefined) {
    const response = await fetch(`${ses.url}/store`, { signal: AbortSignal.timeout(120_000) });
    const store = (await response.json()) as { emails?: readonly unknown[] };
    sesStored = store.emails?.length ?? 0;
  }

  // What the SES rate allows: a worker sends at most rate × share per second, and a day's pages are
  // one chain (its next page is queued when a page is done), so one day's tokens go out at one
  // worker's share, several days' at every worker's.
  const perWorkerRate = SES_RATE * (REMINDER_RATE_SHARE / REMINDER_WORKERS);
  const parallelChains = Math.min(SPREAD_DAYS, REMINDER_WORKERS);
  const neededSesRate = N / (BUDGET_S * (REMINDER_RATE_SHARE / REMINDER_WORKERS) * parallelChains);
  const pacingHeld = first.workers.every(
    (worker) => worker.sends === 0 || worker.virtualMs / 1000 >= (worker.sends - 1) / perWorkerRate - 1e-6,
  );
  const sent = sum(first.results, 'sent');
  const counts = [...mailer.perToken.values()];
  const checks: [string, boolean][] = [
    [
      `every token reminded (${mailer.perToken.size} of ${N}, ${sent} sent)`,
      mailer.perToken.size === N && sent === N,
    ],
    ['each exactly once', counts.every((count) => count === 1)],
    [
      `nothing failed or requeued (${sum(first.results, 'failed')} failed, ${sum(first.results, 'requeued')} requeued)`,
      sum(first.results, 'failed') + sum(first.results, 'requeued') === 0,
    ],
    [`no worker sent faster than its share (${round(perWorkerRate, 2)}/s)`, pacingHeld],
    [
      `paced run fits the day: ${round(first.pacedS / 3600, 2)} h of ${round(BUDGET_S / 3600, 1)} h`,
      first.pacedS <= BUDGET_S,
    ],
    [
      `table side faster than the pacing: ${round(first.realS, 0)} s real for ${round(first.pacedS, 0)} s paced`,
      first.realS <= first.pacedS,
    ],
  ];
  if (second !== undefined) {
    const alreadySent = sum(second.results, 'alreadySent');
    checks.push([
      `second run sends nothing (${again.perToken.size} sent, ${alreadySent} already sent)`,
      again.perToken.size === 0 && alreadySent === N,
    ]);
  }
  if (sesStored !== undefined) checks.push([`SES emulator holds ${sesStored} emails`, sesStored === N]);

  const figures = {
    tokens: N,
    expiryDays: SPREAD_DAYS,
    seedSeconds: round(seedS, 1),
    seedItemsPerSecond: round(N / seedS, 0),
    runRealSeconds: round(first.realS, 1),
    tableSideRemindersPerSecond: round(N / first.realS, 1),
    workerBusySeconds: first.workers.map((worker) => round(worker.busyMs / 1000, 1)),
    workerSends: first.workers.map((worker) => worker.sends),
    sesRate: SES_RATE,
    pacedHours: round(first.pacedS / 3600, 2),
    budgetHours: round(BUDGET_S / 3600, 1),
    sesRateNeededForBudget: round(neededSesRate, 2),
    secondRunRealSeconds: second === undefined ? null : round(second.realS, 1),
    mailer: MAILER,
  };
  console.log('');
  console.log(JSON.stringify(figures, null, 2));
  for (const [what, ok] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  const ok = checks.every(([, passed]) => passed);
  console.log(ok ? '\nPASS' : '\nFAIL');
  raw.destroy();
  return ok;
}

let exitCode = 1;
const services: RunningService[] = [];
try {
  const dynamo = await startDynamoDbLocal({ port: await findFreePort() });
  services.push(dynamo);
  track(dynamo.name, dynamo.process);
  let ses: RunningService | undefined;
  if (MAILER === 'ses') {
    ses = await startSesEmulator({ port: await findFreePort() });
    services.push(ses);
    track(ses.name, ses.process);
  }
  exitCode = (await scenario(dynamo, ses)) ? 0 : 1;
} catch (error) {
  console.error(`reminders load scenario failed: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  await Promise.all(services.map((service) => service.stop()));
  await stopAllChildren();
  removeDir();
}
if (interrupted()) exitCode = 130;
process.exit(exitCode);
