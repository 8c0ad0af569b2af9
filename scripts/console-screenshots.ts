import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { findFreePort } from '../local/emulators.js';
import { localSettingsFromEnv } from '../local/settings.js';
import { REPOSITORY_ROOT, startLocalStack } from '../local/stack.js';

// `npm run screenshots`: the console's main pages as PNGs in docs/console/ (the README shows them).
// A local stack of its own on free ports and a temporary data directory, a few tokens made through
// the API, then Chromium (/usr/bin/chromium) through the pages. Secrets stay masked in every shot.

const OUT = join(REPOSITORY_ROOT, 'docs', 'console');
const dataDir = mkdtempSync(join(tmpdir(), 'atk-screenshots-'));
const [gatewayPort, dynamoPort, sesPort] = [await findFreePort(), await findFreePort(), await findFreePort()];
const stack = await startLocalStack({
  settings: localSettingsFromEnv({
    LOCAL_GATEWAY_PORT: String(gatewayPort),
    LOCAL_DYNAMODB_PORT: String(dynamoPort),
    LOCAL_SES_PORT: String(sesPort),
    LOCAL_DATA_DIR: dataDir,
  }),
  log: () => undefined,
});
const gateway = stack.urls.gateway;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });

async function jwtFor(email: string, role: string): Promise<string> {
  const response = await fetch(`${gateway}/_local/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, accountId: 'acme', role }),
  });
  return ((await response.json()) as { jwt: string }).jwt;
}

async function create(jwt: string, body: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const response = await fetch(`${gateway}/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 201) throw new Error(`POST /tokens: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: string; secret: string };
}

async function signedIn(email: string, role: string, path: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.goto(`${gateway}${path}`);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel(new RegExp(`^${role}:`)).check();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(OUT, `${name}.png`) });

try {
  mkdirSync(OUT, { recursive: true });
  const jwt = await jwtFor('dev@example.com', 'member');
  const { id: ci } = await create(jwt, {
    name: 'CI deploy',
    description: 'GitHub Actions: publishes reports',
    scopes: ['reports:read', 'reports:write'],
    expiresInDays: 90,
  });
  await create(jwt, {
    name: 'Grafana',
    description: 'Dashboards',
    scopes: ['reports:read'],
    expiresInDays: 30,
  });
  const old = await create(jwt, { name: 'Old script', scopes: ['content:read'], expiresInDays: 7 });
  await fetch(`${gateway}/tokens/${old.id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${jwt}` },
  });

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const visitor = await context.newPage();
  await visitor.goto(`${gateway}/`);
  await visitor.getByRole('button', { name: 'Sign in' }).waitFor();
  await shot(visitor, 'sign-in');

  const page = await signedIn('dev@example.com', 'member', '/');
  await page.getByRole('row', { name: /CI deploy/ }).waitFor();
  await shot(page, 'my-tokens');
  await page.getByRole('button', { name: 'Create token' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create a token' });
  await dialog.getByLabel('Name').fill('Billing export');
  await dialog.getByRole('checkbox', { name: 'reports:read' }).check();
  await shot(page, 'create');
  await dialog.getByRole('button', { name: 'Create token' }).click();
  await page.getByRole('dialog', { name: /Copy your token/ }).waitFor();
  await shot(page, 'reveal');
  await page.getByLabel('I copied the secret and stored it safely').check();
  await page.getByRole('button', { name: 'Done, hide it for good' }).click();

  await page.goto(`${gateway}/token/${ci}`);
  await page.getByRole('heading', { name: 'Edit' }).waitFor();
  await page.getByRole('region', { name: 'Audit trail' }).getByRole('listitem').first().waitFor();
  await page.screenshot({ path: join(OUT, 'token-detail.png'), fullPage: true });
  await page.getByRole('button', { name: 'Revoke token…' }).click();
  await page.getByRole('alertdialog').waitFor();
  await shot(page, 'revoke');

  const admin = await signedIn('admin@example.com', 'admin', '/admin/tokens');
  await admin.getByRole('row', { name: /CI deploy/ }).waitFor();
  await shot(admin, 'account-tokens');
  await admin.getByRole('link', { name: 'Audit trail' }).click();
  await admin.getByRole('listitem').filter({ hasText: 'token.created' }).first().waitFor();
  await shot(admin, 'audit');

  // Last, so the other shots do not show the reported token as revoked. The secret is typed into a
  // password field, which the page clears once the report is made.
  const pasted = await create(jwt, {
    name: 'Staging smoke test',
    scopes: ['content:read'],
    expiresInDays: 30,
  });
  await page.goto(`${gateway}/report-leak`);
  await page.getByLabel('Token secret').fill(pasted.secret);
  await page.getByLabel('Where you found it (optional)').fill('https://gist.example/acme/smoke-test.sh');
  await page.getByLabel('How you found it (optional)').fill('a public gist');
  await page.getByRole('button', { name: 'Report and revoke' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: `Token ${pasted.id} is revoked.` })
    .waitFor();
  await shot(page, 'report-leak');
  console.log(`Screenshots written to ${OUT}`);
} finally {
  await browser.close();
  await stack.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
