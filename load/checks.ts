import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { LOCAL_AWS_REGION } from '../local/handler-environment.js';

// The checks after the traffic: every created/revoked token's email in the SES emulator's store,
// and the active-token counters in the table consistent with the slots and the token items.

type EmailKind = 'created' | 'revoked' | 'summary';

interface StoredEmail {
  readonly subject?: string;
  readonly body?: { readonly text?: string };
}

const TOKEN_ID_LINE = /^Token id:\s*(\S+)\s*$/m;
/** A token listed in a revoke-all summary: `- "name" (tok_…, hint)`. */
const SUMMARY_LINE = /^- ".*" \((tok_[A-Za-z0-9]+), /gm;

function kindOf(subject: string): EmailKind | undefined {
  if (/ created$/.test(subject)) return 'created';
  if (/ was revoked$/.test(subject)) return 'revoked';
  if (/ access tokens? revoked at once$/.test(subject)) return 'summary';
  return undefined;
}

/**
 * How often each `created:<id>`, `revoked:<id>` (an email about that one token) and `summary:<id>`
 * (the token named in a revoke-all summary) occurs in the store.
 */
export async function emailTally(sesUrl: string): Promise<Map<string, number>> {
  const response = await fetch(`${sesUrl}/store`, { signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new Error(`GET ${sesUrl}/store: ${response.status}`);
  const store = (await response.json()) as { emails?: readonly StoredEmail[] };
  const tally = new Map<string, number>();
  const count = (key: string) => tally.set(key, (tally.get(key) ?? 0) + 1);
  for (const email of store.emails ?? []) {
    const kind = kindOf(email.subject ?? '');
    const text = email.body?.text ?? '';
    if (kind === 'summary') {
      for (const match of text.matchAll(SUMMARY_LINE)) count(`summary:${match[1]}`);
      continue;
    }
    const id = TOKEN_ID_LINE.exec(text)?.[1];
    if (kind !== undefined && id !== undefined) count(`${kind}:${id}`);
  }
  return tally;
}

async function emailKeys(sesUrl: string): Promise<Set<string>> {
  return new Set((await emailTally(sesUrl)).keys());
}

interface EmailCheck {
  readonly expected: number;
  readonly found: number;
  readonly missing: readonly string[];
  readonly waitedMs: number;
}

/** Polls the store until every expected `kind:id` is there, or `timeoutMs` passed. */
export async function waitForEmails(
  sesUrl: string,
  expected: ReadonlySet<string>,
  timeoutMs: number,
): Promise<EmailCheck> {
  const startedAt = Date.now();
  let missing = [...expected];
  for (;;) {
    const keys = await emailKeys(sesUrl);
    missing = [...expected].filter((key) => !keys.has(key));
    if (missing.length === 0 || Date.now() - startedAt >= timeoutMs) break;
    await new Promise((wait) => setTimeout(wait, 1000));
  }
  return {
    expected: expected.size,
    found: expected.size - missing.length,
    missing,
    waitedMs: Date.now() - startedAt,
  };
}

export interface CounterRow {
  readonly key: string;
  readonly counter: number | undefined;
  readonly slots: number;
  readonly activeTokens: number;
  /** What this run's own bookkeeping says (undefined: not one of the run's users/accounts). */
  readonly expected: number | undefined;
}

interface CounterCheck {
  readonly users: readonly CounterRow[];
  readonly accounts: readonly CounterRow[];
  readonly mismatches: readonly CounterRow[];
}

const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

function rowsOf(
  counters: ReadonlyMap<string, number>,
  slots: ReadonlyMap<string, number>,
  active: ReadonlyMap<string, number>,
  expected: ReadonlyMap<string, number>,
): CounterRow[] {
  const keys = new Set([...counters.keys(), ...slots.keys(), ...active.keys(), ...expected.keys()]);
  return [...keys].sort().map((key) => ({
    key,
    counter: counters.get(key),
    slots: slots.get(key) ?? 0,
    activeTokens: active.get(key) ?? 0,
    expected: expected.get(key),
  }));
}

function consistent(row: CounterRow): boolean {
  const counter = row.counter ?? 0;
  return (
    counter === row.slots &&
    counter === row.activeTokens &&
    (row.expected === undefined || counter === row.expected)
  );
}

/**
 * Scans the whole table: each LIMIT#USER# / LIMIT#ACCOUNT# item's `active` against the user's /
 * account's SLOTS# items and active TOKEN# items (and this run's expectation). Keys are
 * `<accountId>#<userId>` for users and `<accountId>` for accounts.
 */
export async function checkCounters(
  endpoint: string,
  tableName: string,
  expectedUsers: ReadonlyMap<string, number>,
  expectedAccounts: ReadonlyMap<string, number>,
): Promise<CounterCheck> {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint,
      region: LOCAL_AWS_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
  const userCounters = new Map<string, number>();
  const accountCounters = new Map<string, number>();
  const userSlots = new Map<string, number>();
  const accountSlots = new Map<string, number>();
  const userActive = new Map<string, number>();
  const accountActive = new Map<string, number>();
  try {
    for await (const page of paginateScan({ client }, { TableName: tableName, ConsistentRead: true })) {
      for (const item of page.Items ?? []) {
        const pk = String(item.pk ?? '');
        const sk = String(item.sk ?? '');
        if (pk.startsWith('LIMIT#USER#') && sk === 'LIMIT') {
          userCounters.set(pk.slice('LIMIT#USER#'.length), Number(item.active ?? 0));
        } else if (pk.startsWith('LIMIT#ACCOUNT#') && sk === 'LIMIT') {
          accountCounters.set(pk.slice('LIMIT#ACCOUNT#'.length), Number(item.active ?? 0));
        } else if (pk.startsWith('SLOTS#') && sk.startsWith('SLOT#')) {
          const user = pk.slice('SLOTS#'.length);
          bump(userSlots, user);
          bump(accountSlots, user.split('#')[0] ?? '');
        } else if (pk.startsWith('TOKEN#') && sk === 'TOKEN' && item.state === 'active') {
          bump(userActive, `${String(item.accountId)}#${String(item.userId)}`);
          bump(accountActive, String(item.accountId));
        }
      }
    }
  } finally {
    client.destroy();
  }
  const users = rowsOf(userCounters, userSlots, userActive, expectedUsers);
  const accounts = rowsOf(accountCounters, accountSlots, accountActive, expectedAccounts);
  return { users, accounts, mismatches: [...users, ...accounts].filter((row) => !consistent(row)) };
}
