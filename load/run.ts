import { parseArgs } from 'node:util';
import { runScope, stopAllChildren } from '../bench/children.js';
import { percentile, round } from '../bench/stats.js';
import { type CounterRow, checkCounters, waitForEmails } from './checks.js';
import type { HttpClient, Reply } from './http.js';
import { stringField } from './http.js';
import { type Endpoints, session, withLocalStack } from './stack.js';

// `npm run test:load`: the local stack (as `npm start` runs it, on free ports and a temporary data
// directory), then `--duration` seconds (60) of mixed traffic from `--connections` (50) concurrent
// workers: ~90% verifications (GET /demo/<area>/x with a pool of valid tokens that are never
// revoked) and ~10% management (create, list, revoke by several users of a few accounts, each
// user's active tokens kept below the default per-user limit of 10, each account's below 100).
// Then: zero errors, every created/revoked token's email in the SES emulator's store (waited for,
// bounded), and the active-token counters consistent with the slots and the token items.
// Exit code 0 only if all of that holds; every child process is stopped on every way out.

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    connections: { type: 'string', default: '50' },
    'email-timeout': { type: 'string', default: '60' },
  },
});

function positiveInteger(name: string, raw: string | undefined): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`--${name} must be a positive integer, not "${raw}"`);
    process.exit(2);
  }
  return value;
}

const DURATION_S = positiveInteger('duration', values.duration);
const CONNECTIONS = positiveInteger('connections', values.connections);
const EMAIL_TIMEOUT_S = positiveInteger('email-timeout', values['email-timeout']);
const MANAGEMENT_SHARE = 0.1;
const ACCOUNTS = ['load-a', 'load-b', 'load-c'];
const MANAGERS_PER_ACCOUNT = 4;
/** Active tokens a management user holds at most (the default per-user limit is 10). */
const ACTIVE_CAP_PER_USER = 6;
const AREAS = ['content', 'products', 'triggers', 'reports', 'bulk-data', 'system'];
const EXPECTED = { verify: 200, create: 201, list: 200, revoke: 204 } as const;
type Kind = keyof typeof EXPECTED;
const KINDS = Object.keys(EXPECTED) as Kind[];

const startedAt = Date.now();
const log = (line: string) => console.log(`[load ${((Date.now() - startedAt) / 1000).toFixed(1)} s] ${line}`);

// --- stopping children on every way out -------------------------------------------------------

const { dir: dataDir, removeDir: removeDataDir, interrupted } = runScope('atk-load-');

// --- traffic ---------------------------------------------------------------------------------

interface User {
  readonly accountId: string;
  readonly userId: string;
  readonly jwt: string;
  /** Tokens of this run that are active and not being revoked. */
  readonly active: string[];
  pendingCreates: number;
}

interface Stats {
  readonly latencies: Record<Kind, number[]>;
  readonly errors: Record<Kind, number>;
  readonly samples: string[];
}

const pick = <T>(items: readonly T[]): T => {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
};

let tokenCounter = 0;
const createBody = (area: string) => ({
  name: `load ${++tokenCounter}`,
  scopes: [`${area}:read`],
  expiresInDays: 7,
});

class Traffic {
  readonly created = new Set<string>();
  readonly revoked = new Set<string>();
  readonly stats: Stats = {
    latencies: { verify: [], create: [], list: [], revoke: [] },
    errors: { verify: 0, create: 0, list: 0, revoke: 0 },
    samples: [],
  };

  constructor(
    private readonly client: HttpClient,
    private readonly pool: readonly { readonly area: string; readonly secret: string }[],
    private readonly managers: readonly User[],
  ) {}

  private record(kind: Kind, label: string, reply: Reply | Error): reply is Reply {
    if (reply instanceof Error || reply.status !== EXPECTED[kind]) {
      this.stats.errors[kind] += 1;
      if (this.stats.samples.length < 10) {
        this.stats.samples.push(
          reply instanceof Error
            ? `${label}: ${reply.message}`
            : `${label}: ${reply.status} ${reply.text.slice(0, 200)}`,
        );
      }
      return false;
    }
    this.stats.latencies[kind].push(reply.ms);
    return true;
  }

  private async attempt(method: string, path: string, options: { bearer: string; body?: unknown }) {
    try {
      return await this.client.send(method, path, options);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  private async verify(): Promise<void> {
    const token = pick(this.pool);
    const reply = await this.attempt('GET', `/demo/${token.area}/x`, { bearer: token.secret });
    this.record('verify', `GET /demo/${token.area}/x`, reply);
  }

  private async create(user: User): Promise<void> {
    user.pendingCreates += 1;
    const reply = await this.attempt('POST', '/tokens', { bearer: user.jwt, body: createBody(pick(AREAS)) });
    user.pendingCreates -= 1;
    if (!this.record('create', `POST /tokens (${user.userId})`, reply)) return;
    const id = stringField(reply, 'id');
    this.created.add(id);
    user.active.push(id);
  }

  private async list(user: User): Promise<void> {
    const reply = await this.attempt('GET', '/tokens', { bearer: user.jwt });
    this.record('list', `GET /tokens (${user.userId})`, reply);
  }

  private async revoke(user: User): Promise<void> {
    const index = Math.floor(Math.random() * user.active.length);
    const [id] = user.active.splice(index, 1);
    if (id === undefined) return;
    const reply = await this.attempt('DELETE', `/tokens/${encodeURIComponent(id)}`, { bearer: user.jwt });
    if (this.record('revoke', `DELETE /tokens/${id}`, reply)) this.revoked.add(id);
  }

  private async manage(): Promise<void> {
    const user = pick(this.managers);
    const roll = Math.random();
    const full = user.active.length + user.pendingCreates >= ACTIVE_CAP_PER_USER;
    const empty = user.active.length === 0;
    if (roll < 0.4) {
      if (!full) return this.create(user);
      return empty ? this.list(user) : this.revoke(user);
    }
    if (roll < 0.7) return this.list(user);
    if (!empty) return this.revoke(user);
    return full ? this.list(user) : this.create(user);
  }

  async run(deadline: number, workers: number): Promise<void> {
    const worker = async () => {
      while (Date.now() < deadline && !interrupted()) {
        if (Math.random() < MANAGEMENT_SHARE) await this.manage();
        else await this.verify();
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
  }
}

// --- main ------------------------------------------------------------------------------------

interface Outcome {
  readonly ok: boolean;
}

const pad = (text: string, width: number) => text.padEnd(width);
const formatRow = (row: CounterRow) =>
  `${row.key}: counter ${row.counter ?? '(none)'}, slots ${row.slots}, active tokens ${row.activeTokens}` +
  (row.expected === undefined ? '' : `, expected by this run ${row.expected}`);

function main(): Promise<Outcome> {
  return withLocalStack(dataDir, CONNECTIONS + 5, log, exercise);
}

async function exercise(client: HttpClient, endpoints: Endpoints): Promise<Outcome> {
  // Setup: per account one verifier user holding one token per area (the verification pool, never
  // revoked), and the management users.
  const pool: { area: string; secret: string }[] = [];
  const setupCreated: string[] = [];
  const managers: User[] = [];
  const expectedUsers = new Map<string, number>();
  for (const accountId of ACCOUNTS) {
    const verifierJwt = await session(client, accountId, 'verifier');
    for (const area of AREAS) {
      const reply = await client.send('POST', '/tokens', { bearer: verifierJwt, body: createBody(area) });
      if (reply.status !== 201) throw new Error(`setup POST /tokens: ${reply.status} ${reply.text}`);
      setupCreated.push(stringField(reply, 'id'));
      const secret = stringField(reply, 'secret');
      const check = await client.send('GET', `/demo/${area}/x`, { bearer: secret });
      if (check.status !== 200) throw new Error(`setup GET /demo/${area}/x: ${check.status} ${check.text}`);
      pool.push({ area, secret });
    }
    expectedUsers.set(`${accountId}#verifier`, AREAS.length);
    for (let i = 1; i <= MANAGERS_PER_ACCOUNT; i += 1) {
      const userId = `manager-${i}`;
      managers.push({
        accountId,
        userId,
        jwt: await session(client, accountId, userId),
        active: [],
        pendingCreates: 0,
      });
    }
  }
  log(
    `setup: ${pool.length} pool tokens, ${managers.length} management users in ${ACCOUNTS.length} accounts; ` +
      `${DURATION_S} s of traffic at concurrency ${CONNECTIONS} (~${MANAGEMENT_SHARE * 100}% management)...`,
  );

  const traffic = new Traffic(client, pool, managers);
  const trafficStart = performance.now();
  await traffic.run(Date.now() + DURATION_S * 1000, CONNECTIONS);
  const elapsedS = (performance.now() - trafficStart) / 1000;
  if (interrupted()) return { ok: false };

  // Lost events: every created token's "created" email, every revoked token's "revoked" email.
  const expectedEmails = new Set<string>([
    ...[...setupCreated, ...traffic.created].map((id) => `created:${id}`),
    ...[...traffic.revoked].map((id) => `revoked:${id}`),
  ]);
  log(`traffic done; waiting up to ${EMAIL_TIMEOUT_S} s for ${expectedEmails.size} emails...`);
  const emails = await waitForEmails(endpoints.ses, expectedEmails, EMAIL_TIMEOUT_S * 1000);

  // Counters: this run's own bookkeeping of active tokens per user and account, and the table's.
  const expectedAccounts = new Map<string, number>();
  for (const user of managers) expectedUsers.set(`${user.accountId}#${user.userId}`, user.active.length);
  for (const [key, count] of expectedUsers) {
    const accountId = key.split('#')[0] ?? '';
    expectedAccounts.set(accountId, (expectedAccounts.get(accountId) ?? 0) + count);
  }
  const counters = await checkCounters(
    endpoints.dynamoDb,
    endpoints.tableName,
    expectedUsers,
    expectedAccounts,
  );

  // Summary.
  const { latencies, errors, samples } = traffic.stats;
  const completed = KINDS.reduce((sum, kind) => sum + latencies[kind].length + errors[kind], 0);
  const totalErrors = KINDS.reduce((sum, kind) => sum + errors[kind], 0);
  const management = completed - latencies.verify.length - errors.verify;
  console.log('');
  console.log(`Load test: ${round(elapsedS, 1)} s, concurrency ${CONNECTIONS}`);
  console.log(
    `  requests ${completed}, ${round(completed / elapsedS, 1)} req/s, management share ${round((100 * management) / Math.max(completed, 1), 1)}%`,
  );
  console.log(`  ${pad('kind', 8)}${pad('ok', 9)}${pad('errors', 8)}${pad('p50 ms', 9)}p99 ms`);
  for (const kind of KINDS) {
    const samplesOf = latencies[kind];
    const p = (q: number) => (samplesOf.length === 0 ? '-' : String(round(percentile(samplesOf, q), 1)));
    console.log(
      `  ${pad(kind, 8)}${pad(String(samplesOf.length), 9)}${pad(String(errors[kind]), 8)}${pad(p(50), 9)}${p(99)}`,
    );
  }
  console.log(`  errors: ${totalErrors}${samples.length === 0 ? '' : ` (first: ${samples.join(' | ')})`}`);
  console.log(
    `  tokens: ${setupCreated.length} pool + ${traffic.created.size} created, ${traffic.revoked.size} revoked`,
  );
  console.log(
    `  emails: expected ${emails.expected}, found ${emails.found} (after ${round(emails.waitedMs / 1000, 1)} s)` +
      (emails.missing.length === 0 ? '' : `; missing e.g. ${emails.missing.slice(0, 5).join(', ')}`),
  );
  const rows = counters.users.length + counters.accounts.length;
  console.log(
    `  counters: ${counters.users.length} users, ${counters.accounts.length} accounts: ` +
      (counters.mismatches.length === 0
        ? `all ${rows} consistent (LIMIT active = SLOTS# items = active tokens = expected)`
        : `${counters.mismatches.length} of ${rows} inconsistent`),
  );
  for (const row of counters.mismatches.slice(0, 10)) console.log(`    MISMATCH ${formatRow(row)}`);
  const accountsLine = counters.accounts.map((row) => `${row.key}=${row.counter ?? 0}`).join(', ');
  console.log(`  account counters: ${accountsLine}`);

  const failures = [
    ...(completed === 0 ? ['no requests completed'] : []),
    ...(totalErrors > 0 ? [`${totalErrors} errors`] : []),
    ...(emails.missing.length > 0 ? [`${emails.missing.length} emails missing`] : []),
    ...(counters.mismatches.length > 0 ? [`${counters.mismatches.length} counter mismatches`] : []),
  ];
  console.log(failures.length === 0 ? '\nPASS' : `\nFAIL: ${failures.join(', ')}`);
  return { ok: failures.length === 0 };
}

let exitCode = 1;
try {
  exitCode = (await main()).ok ? 0 : 1;
} catch (error) {
  console.error(`load test failed: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  await stopAllChildren();
  removeDataDir();
}
if (interrupted()) exitCode = 130;
process.exit(exitCode);
