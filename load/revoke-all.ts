import { parseArgs } from 'node:util';
import { runScope, stopAllChildren } from '../bench/children.js';
import { round } from '../bench/stats.js';
import { emailTally } from './checks.js';
import { HttpClient, stringField } from './http.js';
import { type Endpoints, session, withLocalStack } from './stack.js';

// `npm run test:load:revoke-all`: the local stack (as `npm start` runs it), a large account filled
// to its limit (10 users × 10 tokens, the default per-user and per-account limits), then an admin's
// revoke-all of the whole account while the users of other accounts keep creating and revoking
// tokens (`--churn-seconds`, 20). Then every email is counted in the SES emulator's store:
// - every token's "created" email exactly once;
// - every token of the large account named in exactly one revoke-all summary (one summary per
//   user), and no email of its own;
// - every other revoked token's "was revoked" email exactly once;
// - nothing twice, nothing missing. Exit code 0 only if all of that holds.

const { values } = parseArgs({
  options: {
    'churn-seconds': { type: 'string', default: '20' },
    'email-timeout': { type: 'string', default: '90' },
  },
});
const CHURN_S = Number(values['churn-seconds']);
const EMAIL_TIMEOUT_S = Number(values['email-timeout']);
const BIG_ACCOUNT = 'load-big';
const BIG_USERS = 10;
const TOKENS_PER_BIG_USER = 10;
const OTHER_ACCOUNTS = ['load-x', 'load-y'];
const OTHER_USERS = 4;
/** Active tokens an other-account user holds at most (limit 10). */
const OTHER_CAP = 6;

const startedAt = Date.now();
const log = (line: string) =>
  console.log(`[revoke-all ${((Date.now() - startedAt) / 1000).toFixed(1)} s] ${line}`);
const { dir: dataDir, removeDir: removeDataDir, interrupted } = runScope('atk-load-revoke-all-');

let nameCounter = 0;
const createBody = () => ({ name: `churn ${++nameCounter}`, scopes: ['content:read'], expiresInDays: 7 });

interface Churner {
  readonly userId: string;
  readonly jwt: string;
  readonly active: string[];
}

async function create(client: HttpClient, jwt: string): Promise<string> {
  const reply = await client.send('POST', '/tokens', { bearer: jwt, body: createBody() });
  if (reply.status !== 201) throw new Error(`POST /tokens: ${reply.status} ${reply.text.slice(0, 200)}`);
  return stringField(reply, 'id');
}

async function scenario(client: HttpClient, endpoints: Endpoints): Promise<boolean> {
  // The large account, filled to its limit.
  const bigTokens = new Map<string, string[]>();
  for (let u = 1; u <= BIG_USERS; u++) {
    const userId = `big-${u}`;
    const jwt = await session(client, BIG_ACCOUNT, userId);
    const ids = await Promise.all(Array.from({ length: TOKENS_PER_BIG_USER }, () => create(client, jwt)));
    bigTokens.set(userId, ids);
  }
  const bigIds = [...bigTokens.values()].flat();
  log(`${BIG_ACCOUNT}: ${bigIds.length} active tokens of ${BIG_USERS} users`);

  const churners: Churner[] = [];
  for (const accountId of OTHER_ACCOUNTS) {
    for (let u = 1; u <= OTHER_USERS; u++) {
      churners.push({
        userId: `${accountId}/u${u}`,
        jwt: await session(client, accountId, `u${u}`),
        active: [],
      });
    }
  }
  const otherCreated: string[] = [];
  const otherRevoked: string[] = [];
  let errors = 0;
  const deadline = Date.now() + CHURN_S * 1000;
  const churn = async (user: Churner) => {
    while (Date.now() < deadline && !interrupted()) {
      try {
        if (user.active.length < OTHER_CAP && Math.random() < 0.7) {
          const id = await create(client, user.jwt);
          user.active.push(id);
          otherCreated.push(id);
        } else if (user.active.length > 0) {
          const [id] = user.active.splice(Math.floor(Math.random() * user.active.length), 1);
          if (id === undefined) continue;
          const reply = await client.send('DELETE', `/tokens/${id}`, { bearer: user.jwt });
          if (reply.status !== 204) throw new Error(`DELETE /tokens/${id}: ${reply.status}`);
          otherRevoked.push(id);
        }
      } catch (error) {
        errors += 1;
        if (errors <= 5) log(`churn error: ${error instanceof Error ? error.message : String(error)}`);
      }
      // People, not a benchmark: a short pause between one user's requests.
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  // The revoke-all lands in the middle of the churn.
  const admin = await session(client, BIG_ACCOUNT, 'big-admin', 'admin');
  const churning = Promise.all(churners.map(churn));
  await new Promise((resolve) => setTimeout(resolve, (CHURN_S * 1000) / 3));
  const revokeStarted = performance.now();
  // Its own client: on a loaded machine revoking 100 tokens can take longer than the usual 15 s.
  const slow = new HttpClient(endpoints.gateway, 1, 300_000);
  const reply = await slow.send('DELETE', '/tokens?userId=*', { bearer: admin }).finally(() => slow.close());
  const revokeMs = performance.now() - revokeStarted;
  // The local runtime answers 504 for a handler past its 10 s timeout but lets it finish (as a
  // Lambda would not); the emails below tell whether every token was revoked and summarised.
  if (reply.status !== 200 && reply.status !== 202)
    log(`DELETE /tokens?userId=*: ${reply.status} ${reply.text.slice(0, 200)}`);
  log(
    `revoke-all: ${reply.text} in ${round(revokeMs, 0)} ms, while ${churners.length} users of other accounts churn`,
  );
  await churning;
  if (interrupted()) return false;

  // Expected: each key exactly once.
  const expected = new Map<string, number>();
  for (const id of [...bigIds, ...otherCreated]) expected.set(`created:${id}`, 1);
  for (const id of bigIds) expected.set(`summary:${id}`, 1);
  for (const id of otherRevoked) expected.set(`revoked:${id}`, 1);

  log(`waiting up to ${EMAIL_TIMEOUT_S} s for ${expected.size} expected email entries...`);
  const waitStarted = Date.now();
  let tally = await emailTally(endpoints.ses);
  const missing = () => [...expected.keys()].filter((key) => !tally.has(key));
  while (missing().length > 0 && Date.now() - waitStarted < EMAIL_TIMEOUT_S * 1000) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    tally = await emailTally(endpoints.ses);
  }
  const waitedS = (Date.now() - waitStarted) / 1000;
  // Anything sent twice would show up within a few more seconds.
  await new Promise((resolve) => setTimeout(resolve, 5000));
  tally = await emailTally(endpoints.ses);

  const lost = missing();
  const duplicates = [...tally].filter(([, count]) => count > 1).map(([key, count]) => `${key}×${count}`);
  const unexpected = [...tally.keys()].filter((key) => !expected.has(key));
  const summaries = new Set(bigIds.filter((id) => tally.has(`summary:${id}`))).size;

  console.log('');
  console.log(
    `Revoke-all under churn: ${bigIds.length} tokens of ${BIG_USERS} users revoked at once in ${round(revokeMs, 0)} ms`,
  );
  console.log(
    `  other accounts: ${otherCreated.length} created, ${otherRevoked.length} revoked by ${churners.length} users in ${CHURN_S} s, ${errors} errors`,
  );
  console.log(
    `  emails: ${expected.size} expected entries, all there after ${round(waitedS, 1)} s: ${lost.length === 0}`,
  );
  console.log(
    `  large account: ${summaries} of ${bigIds.length} tokens named in a summary, per-token revoke emails: ${bigIds.filter((id) => tally.has(`revoked:${id}`)).length}`,
  );
  console.log(`  lost ${lost.length}, duplicates ${duplicates.length}, unexpected ${unexpected.length}`);
  if (lost.length > 0) console.log(`    lost e.g. ${lost.slice(0, 5).join(', ')}`);
  if (duplicates.length > 0) console.log(`    duplicates e.g. ${duplicates.slice(0, 5).join(', ')}`);
  if (unexpected.length > 0) console.log(`    unexpected e.g. ${unexpected.slice(0, 5).join(', ')}`);
  const ok = lost.length === 0 && duplicates.length === 0 && unexpected.length === 0 && errors === 0;
  console.log(ok ? '\nPASS' : '\nFAIL');
  return ok;
}

function main(): Promise<boolean> {
  return withLocalStack(dataDir, 64, log, scenario);
}

let exitCode = 1;
try {
  exitCode = (await main()) ? 0 : 1;
} catch (error) {
  console.error(`revoke-all load scenario failed: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  await stopAllChildren();
  removeDataDir();
}
if (interrupted()) exitCode = 130;
process.exit(exitCode);
