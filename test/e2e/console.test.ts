import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INITIAL_JS_BUDGET_GZIP_BYTES, initialJavaScript } from '../../local/console-assets.js';
import { REPOSITORY_ROOT } from '../../local/stack.js';
import { pollUntil, scaled } from '../support/time.js';
import { type StackProcess, spawnLocalStackOnFreePorts, stackTestTimeout } from './local-stack-process.js';

// The web console (console/) in a real browser: Debian's Chromium driven by playwright-core, against
// `npm start`'s stack (the real process, the console it builds and serves at the gateway's root).
// One stack and one browser for the file; each test has its own browser context and its own users,
// so no test reads another's leftovers. Waits are on locators and events, never fixed sleeps.

const CHROMIUM = '/usr/bin/chromium';
// No browser: the file fails to load with this one line (counted as a failure by scripts/test.mjs),
// rather than its tests being skipped.
if (!existsSync(CHROMIUM)) {
  throw new Error(`The browser tests need Chromium at ${CHROMIUM}: apt-get install -y chromium`);
}
const SECRET = /atk_[0-9A-Za-z]{20,}/;
const ACCOUNT = 'acme';
type Role = 'admin' | 'member' | 'viewer';

let stack: StackProcess | undefined;
let browser: Browser | undefined;
let gateway = '';
let ses = '';
const dataDir = mkdtempSync(join(tmpdir(), 'atk-console-e2e-'));
const contexts: BrowserContext[] = [];

interface Session {
  readonly page: Page;
  /** Every console message and page error the page produced. */
  readonly logs: string[];
}

async function open(path = '/'): Promise<Session> {
  if (browser === undefined) throw new Error('the browser did not start');
  const context = await browser.newContext({
    permissions: ['clipboard-read', 'clipboard-write'],
    viewport: { width: 1280, height: 900 },
  });
  contexts.push(context);
  context.setDefaultTimeout(scaled(20_000));
  const page = await context.newPage();
  const logs: string[] = [];
  page.on('console', (message) => logs.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => logs.push(`pageerror: ${error.message}`));
  await page.goto(`${gateway}${path}`);
  return { page, logs };
}

async function signIn(email: string, role: Role, path = '/'): Promise<Session> {
  const session = await open(path);
  const { page } = session;
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Account', { exact: true }).fill(ACCOUNT);
  await page.getByLabel(new RegExp(`^${role}:`)).check();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page
    .getByRole('button', { name: 'Sign out' })
    .waitFor()
    .catch((error: unknown) => {
      throw new Error(
        `not signed in as ${email} (${role}): ${String(error)}\npage log:\n${session.logs.join('\n')}`,
      );
    });
  return session;
}

async function apiJwt(email: string, role: Role): Promise<string> {
  const response = await fetch(`${gateway}/_local/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, accountId: ACCOUNT, role }),
  });
  return ((await response.json()) as { jwt: string }).jwt;
}

async function apiCreate(jwt: string, name: string): Promise<{ id: string; secret: string }> {
  const response = await fetch(`${gateway}/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, scopes: ['reports:read'], expiresInDays: 7 }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; secret: string };
}

async function demoStatus(secret: string): Promise<number> {
  const response = await fetch(`${gateway}/demo/reports/hello`, {
    headers: { authorization: `Bearer ${secret}` },
  });
  await response.arrayBuffer();
  return response.status;
}

async function expectAccessible(page: Page, what: string): Promise<void> {
  // WCAG 2.1 A/AA rules (axe's best-practice rules are advisory and would double the run time).
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  const serious = results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map(
      (violation) =>
        `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).join(', ')})`,
    );
  expect(serious, `axe on ${what}`).toEqual([]);
}

/** Opens the create dialog, fills it and submits it. */
async function createInDialog(page: Page, name: string, scopes: string[] = ['reports:read']): Promise<void> {
  await page.getByRole('button', { name: 'Create token' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create a token' });
  await dialog.getByLabel('Name').fill(name);
  for (const scope of scopes) await dialog.getByRole('checkbox', { name: scope }).check();
  await dialog.getByRole('button', { name: 'Create token' }).click();
}

async function copyAndClose(page: Page): Promise<string> {
  const reveal = page.getByRole('dialog', { name: /Copy your token/ });
  await reveal.getByRole('button', { name: 'Copy secret' }).click();
  await reveal.getByText('Secret copied to the clipboard.').waitFor();
  // The real system clipboard of the browser (the context may read it: permissions above).
  const secret = String(await page.evaluate('navigator.clipboard.readText()'));
  await reveal.getByLabel('I copied the secret and stored it safely').check();
  await reveal.getByRole('button', { name: 'Done, hide it for good' }).click();
  await reveal.waitFor({ state: 'detached' });
  return secret;
}

async function emailSubjects(recipient: string, atLeast: number): Promise<string[]> {
  return pollUntil(
    async () => {
      const store = (await (await fetch(`${ses}/store`)).json()) as {
        emails: { destination?: { to?: string[] }; subject?: string }[];
      };
      return store.emails
        .filter((email) => email.destination?.to?.includes(recipient))
        .map((email) => email.subject ?? '');
    },
    (subjects) => subjects.length >= atLeast,
  );
}

/** Presses Tab until the focused element's accessible text matches; fails after 40 presses. */
async function tabTo(page: Page, name: RegExp): Promise<void> {
  for (let presses = 0; presses < 40; presses++) {
    await page.keyboard.press('Tab');
    const focused = String(await page.evaluate(FOCUSED_TEXT));
    if (name.test(focused)) return;
  }
  throw new Error(`no element matching ${name} reached with Tab`);
}

// Browser-side expressions as strings: this project's tsconfig has no DOM types (it is Node code).
const FOCUSED_TEXT = `(() => {
  const element = document.activeElement;
  if (element === null) return '';
  return [element.getAttribute('aria-label'), element.textContent, element.labels?.[0]?.textContent].join(' ').trim();
})()`;
const FOCUS_IN_OPEN_DIALOG =
  "document.activeElement !== null && document.activeElement.closest('dialog[open]') !== null";

const focusIsInDialog = async (page: Page) => (await page.evaluate(FOCUS_IN_OPEN_DIALOG)) === true;

const LIST_TOKENS = (url: URL) => url.pathname === '/tokens';

/** vitest's expect.poll with a deadline fit for a loaded machine: playwright's web-first waits. */
const poll = <T>(probe: () => Promise<T>) => expect.poll(probe, { timeout: scaled(20_000), interval: 50 });

describe('the web console in Chromium', () => {
  beforeAll(async () => {
    const started = await spawnLocalStackOnFreePorts(dataDir);
    stack = started.stack;
    gateway = started.urls.gateway;
    ses = started.urls.ses;
    [browser] = await Promise.all([chromium.launch({ executablePath: CHROMIUM }), stack.ready]);
  }, stackTestTimeout());

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    if (stack !== undefined) {
      stack.interrupt();
      await stack.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }, scaled(60_000));

  it('the seed flow: sign in, create, copy, call the demo API, edit, rotate with and without grace, revoke, emails', async () => {
    const email = 'seed@example.com';
    const { page } = await signIn(email, 'member');
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('My tokens');

    await createInDialog(page, 'seed token');
    const reveal = page.getByRole('dialog', { name: /Copy your token "seed token"/ });
    // Masked until Show; the warning says it is shown once.
    await poll(() => reveal.getByRole('textbox', { name: 'Secret' }).inputValue()).not.toMatch(SECRET);
    await reveal.getByText('This is the only time the secret is shown.', { exact: false }).waitFor();
    await reveal.getByRole('button', { name: 'Show' }).click();
    await poll(() => reveal.getByRole('textbox', { name: 'Secret' }).inputValue()).toMatch(SECRET);
    await poll(() => reveal.getByRole('button', { name: 'Done, hide it for good' }).isDisabled()).toBe(true);
    const secret = await copyAndClose(page);
    expect(secret).toMatch(SECRET);
    expect(await demoStatus(secret)).toBe(200);

    // The list: the hint, never the secret.
    const row = page.getByRole('row', { name: /seed token/ });
    await poll(async () => (await row.textContent()) ?? '').toContain(`atk_…${secret.slice(-4)}`);
    expect(await page.content()).not.toContain(secret);

    // Edit scopes on the detail page.
    await row.getByRole('link', { name: 'seed token' }).click();
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('seed token');
    await page.getByRole('checkbox', { name: 'content:read' }).check();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Saved.', { exact: false }).waitFor();
    await page.getByRole('definition').filter({ hasText: 'content:read' }).waitFor();

    // Rotate with a 1 h grace: both secrets work; then without grace: the previous one stops.
    await page.getByLabel('Old secret keeps working for').selectOption({ label: '1 hour' });
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const graceful = await copyAndClose(page);
    expect(graceful).not.toBe(secret);
    expect(await demoStatus(graceful)).toBe(200);
    expect(await demoStatus(secret)).toBe(200);
    await page
      .getByLabel('Old secret keeps working for')
      .selectOption({ label: 'none: the old secret stops now' });
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const latest = await copyAndClose(page);
    expect(await demoStatus(graceful)).toBe(401);
    expect(await demoStatus(latest)).toBe(200);

    // Revoke behind the irreversible dialog: the token becomes read-only and the gateway refuses it.
    await page.getByRole('button', { name: 'Revoke token…' }).click();
    const confirm = page.getByRole('alertdialog', { name: 'Revoke "seed token"?' });
    await poll(async () => (await confirm.textContent()) ?? '').toContain('irreversible');
    await confirm.getByRole('button', { name: 'Revoke token' }).click();
    await page.getByText('This token is revoked: it is read-only.').waitFor();
    await poll(() => page.getByRole('button', { name: 'Save changes' }).count()).toBe(0);
    expect(await demoStatus(latest)).toBe(401);
    await poll(() => page.getByRole('region', { name: 'Audit trail' }).getByRole('listitem').count()).toBe(5);

    const subjects = await emailSubjects(email, 4);
    expect(subjects.join(' | ')).toMatch(/created/);
    expect(subjects.join(' | ')).toMatch(/rotated/);
    expect(subjects.join(' | ')).toMatch(/revoked/);
  });
  it('admins see the account, revoke any token, switch a user off; viewers are read-only with the reason; revoke all takes the typed phrase', async () => {
    // Data through the API: the subject here is what the console shows of it.
    const memberJwt = await apiJwt('mia@example.com', 'member');
    const mias = await apiCreate(memberJwt, 'mia report job');
    const miasSecond = await apiCreate(memberJwt, 'mia second');

    // A viewer: read-only, with the reason where the action would be.
    const viewer = await signIn('vic@example.com', 'viewer');
    await poll(() => viewer.page.getByRole('button', { name: 'Create token' }).isDisabled()).toBe(true);
    await viewer.page.getByText('Your role is viewer', { exact: false }).first().waitFor();
    await poll(() => viewer.page.getByRole('link', { name: 'Account tokens' }).count()).toBe(0);

    // The admin: the account's tokens filtered by owner, revoke one of mia's.
    const { page } = await signIn('ada@example.com', 'admin');
    await page.getByRole('link', { name: 'Account tokens' }).click();
    const miasRow = page.getByRole('row', { name: /mia report job/ });
    await miasRow.waitFor();
    const miaId = ((await miasRow.textContent()) ?? '').match(/user-[0-9a-f]{20}/)?.[0] ?? '';
    expect(miaId).not.toBe('');
    await page.getByLabel('Owner', { exact: false }).fill(miaId);
    await page.getByRole('button', { name: 'Filter' }).click();
    await poll(() => page.getByRole('row').count()).toBe(3);
    await miasRow.getByRole('button', { name: /Revoke/ }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Revoke token' }).click();
    await page.getByText('"mia report job" is revoked.').waitFor();
    expect(await demoStatus(mias.secret)).toBe(401);

    // Token access off: mia's tokens stop and she cannot create any; the effect is explained.
    await page.getByRole('link', { name: 'User access' }).click();
    await page.getByText('stops them creating new ones', { exact: false }).waitFor();
    await page.getByLabel('User id').fill(miaId);
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByRole('button', { name: 'Turn token access off' }).click();
    await page.getByText(`${miaId}'s token access is now off`, { exact: false }).waitFor();
    // While it is off the API refuses her session (and her tokens): the console says why.
    const mia = await open();
    await mia.page.getByLabel('Email', { exact: true }).fill('mia@example.com');
    await mia.page.getByRole('button', { name: 'Sign in' }).click();
    await mia.page.getByText('The API refused your session.', { exact: false }).waitFor();
    expect(await demoStatus(miasSecond.secret)).toBe(401);
    await page.getByRole('button', { name: 'Turn token access on' }).click();
    await page.getByText(`${miaId}'s token access is now on`, { exact: false }).waitFor();
    expect(await demoStatus(miasSecond.secret)).toBe(200);

    // The account's audit trail, filtered by user.
    await page.getByRole('link', { name: 'Audit trail' }).click();
    await page.getByLabel('User id').fill(miaId);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const events = page.getByRole('main').getByRole('listitem');
    await events.filter({ hasText: 'token.revoked' }).first().waitFor();
    await events.filter({ hasText: 'user.token-access-disabled' }).first().waitFor();

    // Revoke all: the button stays off until the phrase is typed exactly. (A sign-in within the second
    // of the switch is still refused, as issued before it: wait until a new session is taken.)
    await pollUntil(
      async () => {
        const fresh = await apiJwt('mia@example.com', 'member');
        return (await fetch(`${gateway}/policy`, { headers: { authorization: `Bearer ${fresh}` } })).status;
      },
      (status) => status === 200,
    );
    await mia.page.getByRole('button', { name: 'Sign in' }).click();
    await mia.page.getByRole('button', { name: 'Revoke all…' }).click();
    const dialog = mia.page.getByRole('alertdialog', { name: 'Revoke all your active tokens?' });
    await dialog.getByLabel('Confirmation phrase').fill('revoke all');
    await poll(() => dialog.getByRole('button', { name: 'Revoke all' }).isDisabled()).toBe(true);
    await dialog.getByLabel('Confirmation phrase').fill('revoke all my tokens');
    await dialog.getByRole('button', { name: 'Revoke all' }).click();
    await mia.page.getByText('1 token revoked.').waitFor();
    await poll(async () => (await mia.page.getByRole('table').textContent()) ?? '').not.toContain('active');
  });

  it('error paths: the 409 limit, a 400 allowlist at its field, the API down then back with a retry', async () => {
    const email = 'lim@example.com';
    const jwt = await apiJwt(email, 'member');
    const policy = (await (
      await fetch(`${gateway}/policy`, { headers: { authorization: `Bearer ${jwt}` } })
    ).json()) as {
      limits: { maxActiveTokensPerUser: number };
    };
    const { page } = await signIn(email, 'member');

    // The allowlist is checked as it is typed, and the server's own 400 lands at the same field.
    await page.getByRole('button', { name: 'Create token' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create a token' });
    await dialog.getByLabel('Name').fill('allowlisted');
    await dialog.getByRole('checkbox', { name: 'reports:read' }).check();
    const allowlist = dialog.getByRole('textbox', { name: /IP allowlist/ });
    await allowlist.fill('10.0.0.300');
    await dialog.getByText('"10.0.0.300" is not an IP address or CIDR', { exact: false }).waitFor();
    // A duplicate passes the browser's check; the API refuses it (allowedIps.1).
    await allowlist.fill('10.0.0.1\n10.0.0.1/32');
    await dialog.getByRole('button', { name: 'Create token' }).click();
    const fieldError = dialog.locator('#allowedIps-error');
    await poll(async () => (await fieldError.textContent()) ?? '').toContain('duplicate');
    expect(await allowlist.getAttribute('aria-invalid')).toBe('true');
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    // Up to the limit through the API, then the console's create is a 409 with its message.
    for (let n = 0; n < policy.limits.maxActiveTokensPerUser; n++) await apiCreate(jwt, `filler ${n}`);
    await createInDialog(page, 'one too many');
    await page
      .getByRole('dialog')
      .getByText('You have reached the limit of active tokens', { exact: false })
      .waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

    // The API unreachable, then a 5xx: a message and a retry, never a blank page.
    await page.route(LIST_TOKENS, (route) => route.abort('connectionrefused'));
    await page.getByLabel('Status').selectOption('active');
    await page.getByText('The API cannot be reached.', { exact: false }).waitFor();
    await page.unroute(LIST_TOKENS);
    await page.route(LIST_TOKENS, (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: '{"message":"Service Unavailable"}',
      }),
    );
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.getByText('The service had a problem answering.', { exact: false }).waitFor();
    await page.unroute(LIST_TOKENS);
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.getByRole('row', { name: /filler 0/ }).waitFor();
  });

  it('keyboard only: create → copy → close and the revoke dialog, focus kept in dialogs and returned', async () => {
    const { page } = await signIn('kay@example.com', 'member');
    await tabTo(page, /Create token/);
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Create a token' }).waitFor();
    expect(await focusIsInDialog(page)).toBe(true);
    await tabTo(page, /^ *Name/);
    await page.keyboard.type('keyboard token');
    await tabTo(page, /reports:read/);
    await page.keyboard.press('Space');
    await tabTo(page, /^Create token/);
    await page.keyboard.press('Enter');

    const reveal = page.getByRole('dialog', { name: /Copy your token/ });
    await reveal.waitFor();
    // Focus starts on Copy; Escape does not dismiss the reveal; Tab never leaves it.
    await page.keyboard.press('Enter');
    await reveal.getByText('Secret copied to the clipboard.').waitFor();
    expect(String(await page.evaluate('navigator.clipboard.readText()'))).toMatch(SECRET);
    await page.keyboard.press('Escape');
    expect(await reveal.isVisible()).toBe(true);
    for (let presses = 0; presses < 8; presses++) {
      await page.keyboard.press('Tab');
      expect(await focusIsInDialog(page)).toBe(true);
    }
    await tabTo(page, /I copied the secret/);
    await page.keyboard.press('Space');
    await tabTo(page, /Done, hide it for good/);
    await page.keyboard.press('Enter');
    await reveal.waitFor({ state: 'detached' });
    // Focus moves back once the dialog has gone, a frame later under load: polled, not read at once.
    await poll(async () => String(await page.evaluate('document.activeElement.textContent'))).toContain(
      'Create token',
    );

    // The revoke dialog: opened, cancelled with Escape (focus back on its button), then confirmed.
    // The list reloads after the reveal closes: wait for the new row's link, then Tab to it alone
    // (under load, Tab reached another element naming the token before the row was there).
    await page.getByRole('link', { name: 'keyboard token', exact: true }).waitFor();
    await tabTo(page, /^keyboard token$/);
    await page.keyboard.press('Enter');
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('keyboard token');
    await tabTo(page, /Revoke token…/);
    await page.keyboard.press('Enter');
    const confirm = page.getByRole('alertdialog');
    await confirm.waitFor();
    await poll(async () => String(await page.evaluate('document.activeElement.textContent'))).toBe('Keep it');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    expect(await focusIsInDialog(page)).toBe(true);
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached' });
    await poll(async () => String(await page.evaluate('document.activeElement.textContent'))).toBe(
      'Revoke token…',
    );
    await page.keyboard.press('Enter');
    await confirm.waitFor();
    await tabTo(page, /^Revoke token$/);
    await page.keyboard.press('Enter');
    await page.getByText('This token is revoked: it is read-only.').waitFor();
  });

  it('accessibility: axe finds no serious or critical violation on any page or dialog', async () => {
    const jwt = await apiJwt('ally@example.com', 'member');
    const token = await apiCreate(jwt, 'audited token');
    const visitor = await open('/');
    await visitor.page.getByRole('button', { name: 'Sign in' }).waitFor();
    await expectAccessible(visitor.page, 'sign-in');

    const { page } = await signIn('ally@example.com', 'member');
    await page.getByRole('row', { name: /audited token/ }).waitFor();
    await expectAccessible(page, 'my tokens');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByRole('dialog', { name: 'Create a token' }).waitFor();
    await expectAccessible(page, 'create dialog');
    await page.getByRole('button', { name: 'Create token' }).last().click();
    await page.getByText('Give the token a name.').waitFor();
    await expectAccessible(page, 'create dialog with errors');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Revoke all…' }).click();
    await page.getByRole('alertdialog').waitFor();
    await expectAccessible(page, 'revoke-all dialog');
    await page.getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('link', { name: 'audited token' }).click();
    await page.getByRole('heading', { name: 'Edit' }).waitFor();
    await page.getByRole('region', { name: 'Audit trail' }).getByRole('listitem').first().waitFor();
    await expectAccessible(page, 'token detail');
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('dialog', { name: /Copy your token/ }).waitFor();
    await expectAccessible(page, 'reveal dialog');
    await copyAndClose(page);
    await page.getByRole('button', { name: 'Revoke token…' }).click();
    await page.getByRole('alertdialog').waitFor();
    await expectAccessible(page, 'revoke dialog');
    await page.getByRole('alertdialog').getByRole('button', { name: 'Revoke token' }).click();
    await page.getByText('This token is revoked: it is read-only.').waitFor();
    await expectAccessible(page, 'revoked token');
    expect(token.id).toMatch(/^tok_/);

    const admin = await signIn('adm@example.com', 'admin', '/admin/tokens');
    await admin.page.getByRole('row', { name: /audited token/ }).waitFor();
    await expectAccessible(admin.page, 'account tokens');
    await admin.page.getByRole('link', { name: 'User access' }).click();
    await admin.page.getByLabel('User id').fill(token.id.replace('tok_', 'user-x'));
    await expectAccessible(admin.page, 'user access');
    await admin.page.getByRole('link', { name: 'Audit trail' }).click();
    await admin.page.getByRole('listitem').filter({ hasText: 'token.created' }).first().waitFor();
    await expectAccessible(admin.page, 'account audit trail');
  });

  it('no secret in localStorage, sessionStorage, the URL or the console log once the reveal is closed', async () => {
    const session = await signIn('sam@example.com', 'member');
    const { page, logs } = session;
    await createInDialog(page, 'storage check');
    const first = await copyAndClose(page);
    await page.getByRole('link', { name: 'storage check' }).click();
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const second = await copyAndClose(page);
    const storage = String(
      await page.evaluate('JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])'),
    );
    expect(storage).toContain('atk.console.session'); // positive control: the session is there
    for (const secret of [first, second]) {
      expect(secret).toMatch(SECRET);
      expect(storage).not.toContain(secret);
      expect(page.url()).not.toContain(secret);
      expect(logs.join('\n')).not.toContain(secret);
      expect(await page.content()).not.toContain(secret);
    }
    expect(storage).not.toMatch(SECRET);
    expect(logs.join('\n')).not.toMatch(SECRET);
  });

  it('an expired session goes to sign-in and back to the page the user was on', async () => {
    const jwt = await apiJwt('eve@example.com', 'member');
    const token = await apiCreate(jwt, 'deep link');
    const session = await open();
    const { page } = session;
    // The page's own clock, so that the ID token's expiry (8 h for the dev sign-in) comes at once.
    await page.clock.install();
    await page.goto(`${gateway}/token/${token.id}`);
    await page.getByLabel('Email', { exact: true }).fill('eve@example.com');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('deep link');
    const now = Date.now();
    await page.clock.fastForward('09:00:00');
    await page.getByText('Your session ended.', { exact: false }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    // Signing in again (as the same person, the form remembers) goes back to the token.
    await page.clock.setSystemTime(now);
    expect(await page.getByLabel('Email', { exact: true }).inputValue()).toBe('eve@example.com');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('deep link');
    expect(new URL(page.url()).pathname).toBe(`/token/${token.id}`);
  });
  it('report a leak: anyone signed in pastes a secret of the account, it is revoked at once and its owner emailed; the field is cleared', async () => {
    const owner = 'leak-owner@example.com';
    const leaked = await apiCreate(await apiJwt(owner, 'member'), 'pasted in a ticket');
    expect(await demoStatus(leaked.secret)).toBe(200);
    // A viewer (read-only otherwise) of the same account finds it: POST /leaks is open to every role.
    const { page, logs } = await signIn('finder@example.com', 'viewer');
    await page.getByRole('link', { name: 'Report a leak' }).click();
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Report a leaked token');
    await expectAccessible(page, 'the leak report page');

    await page.getByLabel('Token secret').fill(leaked.secret);
    await page.getByLabel('Where you found it (optional)').fill('https://tickets.example/T-42');
    await page.getByRole('button', { name: 'Report and revoke' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Token ${leaked.id} is revoked.` })
      .waitFor();
    expect(await page.getByLabel('Token secret').inputValue()).toBe('');
    expect(await page.getByLabel('Where you found it (optional)').inputValue()).toBe('');
    expect(await demoStatus(leaked.secret)).toBe(401);

    // Reported again: nothing changes, and the page says so.
    await page.getByLabel('Token secret').fill(leaked.secret);
    await page.getByRole('button', { name: 'Report and revoke' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Token ${leaked.id} no longer worked` })
      .waitFor();
    // Not a token of this account: the API's 404, shown as an error; nothing is revoked.
    await page.getByLabel('Token secret').fill('atk_not-a-real-token');
    await page.getByRole('button', { name: 'Report and revoke' }).click();
    await page.getByRole('alert').filter({ hasText: 'does not exist' }).waitFor();

    const subjects = await emailSubjects(owner, 2);
    expect(subjects.join(' | ')).toMatch(/found in public and revoked/);
    expect(await page.content()).not.toContain(leaked.secret);
    expect(logs.join('\n')).not.toContain(leaked.secret);
  });
  it('the initial JavaScript the stack serves stays within 80 KB gzipped', async () => {
    const { files, gzipBytes } = initialJavaScript(REPOSITORY_ROOT);
    expect(files).toHaveLength(1);
    expect(gzipBytes).toBeGreaterThan(1024);
    expect(gzipBytes).toBeLessThanOrEqual(INITIAL_JS_BUDGET_GZIP_BYTES);
    // What index.html names is what the gateway serves, under a CSP without inline script.
    const served = await fetch(`${gateway}/${files[0]}`);
    expect(served.status).toBe(200);
    await served.arrayBuffer();
    const page = await fetch(`${gateway}/admin/tokens`, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain(files[0]);
    // API routes keep priority over the console, and a non-HTML unknown path is still the API's 404.
    expect((await fetch(`${gateway}/tokens`, { headers: { accept: 'text/html' } })).status).toBe(401);
    expect((await fetch(`${gateway}/nowhere`)).status).toBe(404);
  });
});
