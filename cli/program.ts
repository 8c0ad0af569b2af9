import { readFileSync } from 'node:fs';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';
import {
  createTokenRequestSchema,
  type RouteContracts,
  updateTokenRequestSchema,
} from '../lambdas/contract/api-schemas.js';
import { IDENTITY_PATTERN, WHOLE_ACCOUNT } from '../lambdas/core/identity.js';
import { TOKEN_ID_PATTERN } from '../lambdas/core/ids.js';
import { LIST_STATUS_FILTERS } from '../lambdas/core/inputs.js';
import { ROLES } from '../lambdas/core/model.js';
import { QUOTA_PERIODS } from '../lambdas/core/rate-limits.js';
import { ApiClient } from './client.js';
import {
  credentialsPath,
  ENV_API,
  ENV_JWT,
  expiresAtOf,
  removeCredentials,
  saveCredentials,
  trimSlash,
} from './credentials.js';
import { CliError, EXIT, type ExitCode } from './errors.js';
import type { CliIo } from './io.js';
import { oidcLogin } from './oidc-login.js';
import { type Column, json, keyValues, redactSecrets, table } from './output.js';
import { currentSession } from './session.js';

// The `access-tokens` command line: one subcommand per management API route, plus login/logout.
// commander parses; every leaf command has --json (the API's JSON, for scripts) and prints a table
// or key/value lines otherwise. Errors: one line on stderr with the API's code and message.

type Output<T> = T extends z.ZodType ? z.output<T> : never;
type Responses = { [K in keyof RouteContracts]: RouteContracts[K]['responses'] };
type Token = Output<Responses['listTokens'][200]>['items'][number];
type TokenDetail = Output<Responses['getToken'][200]>;
type CreatedToken = Output<Responses['createToken'][201]>;
type AuditEvent = Output<Responses['listAuditEvents'][200]>['items'][number];
type RevokeAllResult = Output<Responses['revokeAllTokens'][200]>;
type RevokeAllJob = Output<Responses['getRevokeAllJob'][200]>;
type Policy = Output<Responses['getPolicy'][200]>;
type TokenAccess = Output<Responses['getUserTokenAccess'][200]>;

type LeakReportResult = Output<Responses['reportLeak'][200]>;

const DEFAULT_LOCAL_API = 'http://127.0.0.1:4010';
/** The API's largest page. */
const MAX_PAGE = 100;
const DEFAULT_LIST_LIMIT = 30;
const REVOKE_ALL_POLL_MS = 1000;
const SHOWN_ONCE =
  'This secret is shown once: store it now (a secret manager, a CI secret). It cannot be shown again.';

interface JsonOption {
  readonly json?: boolean;
}

function version(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return typeof packageJson.version === 'string' ? packageJson.version : '0.0.0';
}

// ---------------------------------------------------------------------------------------------
// Argument parsers: a bad value is a usage error (exit 2), before any request.

function tokenId(value: string): string {
  if (!TOKEN_ID_PATTERN.test(value)) throw new InvalidArgumentError('not a token id (tok_ + 22 characters).');
  return value;
}

function userId(value: string): string {
  if (!IDENTITY_PATTERN.test(value)) throw new InvalidArgumentError('not a user id.');
  return value;
}

function userOrAccount(value: string): string {
  return value === WHOLE_ACCOUNT ? value : userId(value);
}

function positiveInteger(value: string): number {
  if (!/^[0-9]{1,9}$/.test(value) || Number(value) < 1) {
    throw new InvalidArgumentError('must be a whole number, at least 1.');
  }
  return Number(value);
}

function nonNegativeInteger(value: string): number {
  if (!/^[0-9]{1,9}$/.test(value)) throw new InvalidArgumentError('must be a whole number.');
  return Number(value);
}

function collect(value: string, previous: string[] | undefined): string[] {
  const parts = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  return [...(previous ?? []), ...parts];
}

function rateLimit(value: string): { requestsPerSecond: number; burst: number } {
  const match = /^([0-9]{1,9})\/([0-9]{1,9})$/.exec(value);
  if (match === null) throw new InvalidArgumentError('give <requestsPerSecond>/<burst>, e.g. 10/20.');
  return { requestsPerSecond: Number(match[1]), burst: Number(match[2]) };
}

function quota(value: string): { limit: number; period: (typeof QUOTA_PERIODS)[number] } {
  const match = /^([0-9]{1,12})\/([A-Za-z]+)$/.exec(value);
  const period = match?.[2]?.toUpperCase();
  const known = QUOTA_PERIODS.find((candidate) => candidate === period);
  if (match === null || known === undefined) {
    throw new InvalidArgumentError(`give <limit>/<${QUOTA_PERIODS.join('|')}>, e.g. 1000/DAY.`);
  }
  return { limit: Number(match[1]), period: known };
}

function url(value: string): string {
  try {
    const parsed = new URL(value);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw new InvalidArgumentError('not an http(s) URL.');
  }
  return trimSlash(value);
}

// ---------------------------------------------------------------------------------------------
// Human views

const TOKEN_COLUMNS: readonly Column<Token>[] = [
  { header: 'id', value: (token) => token.id },
  { header: 'name', value: (token) => token.name },
  { header: 'status', value: (token) => token.status },
  { header: 'type', value: (token) => token.type },
  { header: 'scopes', value: (token) => token.scopes },
  { header: 'expires', value: (token) => token.expiresAt ?? 'never' },
  { header: 'last used', value: (token) => token.lastUsedAt },
  { header: 'hint', value: (token) => token.hint },
];

function tokenDetailView(token: TokenDetail | CreatedToken): string {
  const limits = token.limits;
  return keyValues([
    ['id', token.id],
    ['name', token.name],
    ['description', token.description === '' ? null : token.description],
    ['status', token.status],
    ['type', token.type],
    ['scopes', token.scopes],
    ['allowed IPs', token.allowedIps.length === 0 ? 'any' : token.allowedIps],
    ['hint', token.hint],
    ['owner', token.userId],
    ['created', `${token.createdAt} by ${token.createdBy}`],
    ['expires', token.expiresAt ?? 'never'],
    ['last used', token.lastUsedAt],
    ['rotated', token.rotatedAt],
    [
      'rate limit',
      limits === null
        ? null
        : `${limits.rateLimit.requestsPerSecond}/s, burst ${limits.rateLimit.burst} (${limits.source})`,
    ],
    [
      'quota',
      limits?.quota === null || limits === null ? 'none' : `${limits.quota.limit}/${limits.quota.period}`,
    ],
    [
      'usage',
      token.usage === null ? null : `${token.usage.used}/${token.usage.limit} until ${token.usage.resetsAt}`,
    ],
  ]);
}

const AUDIT_COLUMNS: readonly Column<AuditEvent>[] = [
  { header: 'at', value: (event) => event.at },
  { header: 'action', value: (event) => event.action },
  { header: 'token', value: (event) => event.tokenId },
  { header: 'name', value: (event) => event.tokenName },
  { header: 'subject', value: (event) => event.subjectUserId },
  { header: 'actor', value: (event) => event.actor.userId ?? 'system' },
];

function accessView(access: TokenAccess): string {
  return keyValues([
    ['user', access.userId],
    ['account', access.accountId],
    ['token access', access.enabled ? 'enabled' : 'disabled'],
    ['updated', access.updatedAt === null ? 'never' : `${access.updatedAt} by ${access.updatedBy ?? '-'}`],
    ['tokens switched', access.tokensAffected],
  ]);
}

function policyView(policy: Policy): string {
  const summary = keyValues([
    ['token prefix', `${policy.tokenPrefix}_`],
    ['expiry presets (days)', policy.expiryPresetsDays.map(String)],
    ['default expiry (days)', policy.defaultExpiryDays],
    ['max lifetime (days)', policy.maxLifetimeDays],
    ['no-expiry tokens', policy.allowNoExpiry ? 'allowed' : 'not allowed'],
    ['active tokens per user', policy.limits.maxActiveTokensPerUser],
    ['active tokens per account', policy.limits.maxActiveTokensPerAccount],
    ['scopes', policy.scopeCatalogue],
    ['default type', policy.defaultTokenType],
    ['revocation window (s)', policy.revocationWindowSeconds],
  ]);
  const types = table(policy.tokenTypes, [
    { header: 'type', value: (type) => type.name },
    {
      header: 'rate limit',
      value: (type) => `${type.rateLimit.requestsPerSecond}/s burst ${type.rateLimit.burst}`,
    },
    {
      header: 'quota',
      value: (type) => (type.quota === null ? 'none' : `${type.quota.limit}/${type.quota.period}`),
    },
    { header: 'ip allowlist', value: (type) => (type.requireIpAllowlist ? 'required' : 'optional') },
    { header: 'scopes', value: (type) => type.allowedScopes },
  ]);
  return `${summary}\n\n${types}`;
}

// ---------------------------------------------------------------------------------------------

interface Context {
  readonly io: CliIo;
  /** A request to the API in the current session, renewed first when it is about to expire (cli/session.ts). */
  readonly request: ApiClient['request'];
}

function print(io: CliIo, text: string): void {
  io.stdout(`${text}\n`);
}

function note(io: CliIo, text: string): void {
  io.stderr(`${text}\n`);
}

/** Follows `nextCursor` until `limit` items (or all with `all`); a note on stderr if more are left. */
async function paginate<T>(
  context: Context,
  path: string,
  query: Readonly<Record<string, string | undefined>>,
  options: { limit?: number; all?: boolean; json?: boolean },
  noun: string,
): Promise<T[]> {
  const wanted = options.all === true ? Number.POSITIVE_INFINITY : (options.limit ?? DEFAULT_LIST_LIMIT);
  const items: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const pageSize = Math.min(MAX_PAGE, wanted - items.length);
    const reply = await context.request<{ items: T[]; nextCursor: string | null }>('GET', path, {
      query: { ...query, limit: Number.isFinite(pageSize) ? pageSize : MAX_PAGE, cursor },
    });
    items.push(...reply.body.items.slice(0, wanted - items.length));
    const next = reply.body.nextCursor;
    if (next === null) return items;
    if (items.length >= wanted) {
      if (options.json !== true) note(context.io, `More ${noun} than shown: use --limit <n> or --all.`);
      return items;
    }
    cursor = next;
  }
}

function printSecret(context: Context, token: CreatedToken, options: JsonOption & { quiet?: boolean }): void {
  const { io } = context;
  if (options.json === true) {
    print(io, json(token));
  } else {
    if (options.quiet !== true) {
      note(io, tokenDetailView(token));
      note(io, '');
    }
    // The secret alone on stdout: `$(access-tokens tokens create … --quiet)` captures exactly it.
    print(io, token.secret);
  }
  note(io, SHOWN_ONCE);
}

function addJson(command: Command): Command {
  return command.option('--json', 'print the API’s JSON (for scripts)');
}

function listOptions(command: Command, noun: string): Command {
  return command
    .addOption(
      new Option('--limit <n>', `at most this many ${noun}, following pages (default ${DEFAULT_LIST_LIMIT})`)
        .argParser(positiveInteger)
        .conflicts('all'),
    )
    .option('--all', `every ${noun}, following every page`);
}

function limitsBody(options: { rateLimit?: unknown; quota?: unknown; typeLimits?: boolean }): unknown {
  if (options.typeLimits === true) return { rateLimit: null, quota: null };
  if (options.rateLimit === undefined && options.quota === undefined) return undefined;
  return {
    ...(options.rateLimit === undefined ? {} : { rateLimit: options.rateLimit }),
    ...(options.quota === undefined ? {} : { quota: options.quota }),
  };
}

/** Validates a request body with the API's own schema: a bad one is a usage error, no request made. */
function validBody<S extends z.ZodType>(command: Command, schema: S, body: unknown): z.input<S> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const message = result.error.issues
      .map((issue) => `${issue.path.length === 0 ? 'input' : issue.path.join('.')}: ${issue.message}`)
      .join('; ');
    command.error(`error: ${message}`, { exitCode: EXIT.usage, code: 'access-tokens.invalidInput' });
  }
  return body as z.input<S>;
}

async function readSecretFromStdin(io: CliIo, what: string): Promise<string> {
  if (io.stdinIsTty) note(io, `Paste the ${what}, then press Enter and Ctrl-D:`);
  const text = (await io.readStdin()).trim();
  if (text === '' || /\s/.test(text)) {
    throw new CliError(`expected one ${what} on stdin`, EXIT.usage);
  }
  return text;
}

// ---------------------------------------------------------------------------------------------

function tokensCommand(context: Context): Command {
  const { io } = context;
  const tokens = new Command('tokens').description('Create, list, edit, rotate and revoke access tokens.');

  listOptions(
    addJson(
      tokens
        .command('list')
        .description(
          'List tokens, newest first: your own; an admin may list a user’s or the whole account’s.',
        )
        .addOption(
          new Option('--status <status>', 'only tokens with this status').choices(LIST_STATUS_FILTERS),
        )
        .addOption(
          new Option(
            '--user <userId>',
            `admins: this user’s tokens, or '${WHOLE_ACCOUNT}' for the whole account`,
          ).argParser(userOrAccount),
        ),
    ),
    'tokens',
  ).action(
    async (options: { status?: string; user?: string; limit?: number; all?: boolean } & JsonOption) => {
      const items = await paginate<Token>(
        context,
        '/tokens',
        { status: options.status, userId: options.user },
        options,
        'tokens',
      );
      print(
        io,
        options.json === true ? json(items) : items.length === 0 ? 'No tokens.' : table(items, TOKEN_COLUMNS),
      );
    },
  );

  addJson(
    tokens
      .command('get')
      .description('Show one token: its limits and quota usage. Never its secret.')
      .argument('<id>', 'token id', tokenId),
  ).action(async (id: string, options: JsonOption) => {
    const { body } = await context.request<TokenDetail>('GET', `/tokens/${id}`);
    print(io, options.json === true ? json(body) : tokenDetailView(body));
  });

  addJson(
    tokens
      .command('create')
      .description(
        'Create a token. Its secret is printed once, alone on stdout; the "shown once" warning goes to stderr.',
      )
      .requiredOption('--name <name>', 'what it is called')
      .requiredOption(
        '--scope <scope>',
        'a scope (repeat, or comma-separate); see `access-tokens policy`',
        collect,
      )
      .option('--description <text>', 'what it is for')
      .option('--type <type>', 'token type (see `access-tokens policy`)')
      .addOption(
        new Option('--expires-in-days <days>', 'one of the expiry presets').argParser(positiveInteger),
      )
      .addOption(new Option('--expires-at <iso8601>', 'an explicit expiry, e.g. 2027-01-31T00:00:00Z'))
      .addOption(new Option('--no-expiry', 'never expires (where the policy allows it)'))
      .option(
        '--allow-ip <cidr>',
        'an address or CIDR it may be used from (repeat, or comma-separate)',
        collect,
      )
      .addOption(
        new Option('--rate-limit <rps/burst>', 'its own rate limit, e.g. 10/20').argParser(rateLimit),
      )
      .addOption(new Option('--quota <limit/period>', 'its own quota, e.g. 1000/DAY').argParser(quota))
      .option('-q, --quiet', 'print only the secret (stdout) and the warning (stderr)'),
  ).action(async function (
    this: Command,
    options: {
      name: string;
      scope: string[];
      description?: string;
      type?: string;
      expiresInDays?: number;
      expiresAt?: string;
      expiry: boolean;
      allowIp?: string[];
      rateLimit?: unknown;
      quota?: unknown;
      quiet?: boolean;
    } & JsonOption,
  ) {
    if (!options.expiry && (options.expiresAt !== undefined || options.expiresInDays !== undefined)) {
      this.error('error: give one of --expires-in-days, --expires-at, --no-expiry', { exitCode: EXIT.usage });
    }
    const body = validBody(this, createTokenRequestSchema, {
      name: options.name,
      scopes: options.scope,
      ...(options.description === undefined ? {} : { description: options.description }),
      ...(options.type === undefined ? {} : { type: options.type }),
      ...(options.expiresInDays === undefined ? {} : { expiresInDays: options.expiresInDays }),
      ...(options.expiresAt === undefined ? {} : { expiresAt: options.expiresAt }),
      ...(options.expiry ? {} : { expiresAt: null }),
      ...(options.allowIp === undefined ? {} : { allowedIps: options.allowIp }),
      ...(limitsBody(options) === undefined ? {} : { limits: limitsBody(options) }),
    });
    const { body: created } = await context.request<CreatedToken>('POST', '/tokens', { body });
    printSecret(context, created, options);
  });

  addJson(
    tokens
      .command('edit')
      .description('Change a token’s name, description, scopes, allowlist, expiry or limits.')
      .argument('<id>', 'token id', tokenId)
      .option('--name <name>', 'a new name')
      .option('--description <text>', 'a new description')
      .option('--scope <scope>', 'the new scopes (repeat, or comma-separate): replaces them all', collect)
      .option('--allow-ip <cidr>', 'the new allowlist (repeat, or comma-separate): replaces it', collect)
      .option('--any-ip', 'clear the allowlist (any address)')
      .option('--expires-at <iso8601>', 'a new expiry')
      .addOption(new Option('--no-expiry', 'never expires (where the policy allows it)'))
      .addOption(new Option('--rate-limit <rps/burst>', 'its own rate limit, e.g. 5/10').argParser(rateLimit))
      .addOption(new Option('--quota <limit/period>', 'its own quota, e.g. 500/DAY').argParser(quota))
      .addOption(
        new Option('--type-limits', 'back to its type’s rate limit and quota').conflicts([
          'rateLimit',
          'quota',
        ]),
      ),
  ).action(async function (
    this: Command,
    id: string,
    options: {
      name?: string;
      description?: string;
      scope?: string[];
      allowIp?: string[];
      anyIp?: boolean;
      expiresAt?: string;
      expiry: boolean;
      rateLimit?: unknown;
      quota?: unknown;
      typeLimits?: boolean;
    } & JsonOption,
  ) {
    if (options.anyIp === true && options.allowIp !== undefined) {
      this.error('error: give --allow-ip or --any-ip, not both', { exitCode: EXIT.usage });
    }
    if (!options.expiry && options.expiresAt !== undefined) {
      this.error('error: give --expires-at or --no-expiry, not both', { exitCode: EXIT.usage });
    }
    const limits = limitsBody(options);
    const body = validBody(this, updateTokenRequestSchema, {
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(options.description === undefined ? {} : { description: options.description }),
      ...(options.scope === undefined ? {} : { scopes: options.scope }),
      ...(options.allowIp === undefined ? {} : { allowedIps: options.allowIp }),
      ...(options.anyIp === true ? { allowedIps: [] } : {}),
      ...(options.expiresAt === undefined ? {} : { expiresAt: options.expiresAt }),
      ...(options.expiry ? {} : { expiresAt: null }),
      ...(limits === undefined ? {} : { limits }),
    });
    const { body: updated } = await context.request<TokenDetail>('PATCH', `/tokens/${id}`, { body });
    print(io, options.json === true ? json(updated) : tokenDetailView(updated));
  });

  addJson(
    tokens
      .command('rotate')
      .description(
        'A new secret for the same token, printed once on stdout; the old one stops now or after --grace-period.',
      )
      .argument('<id>', 'token id', tokenId)
      .addOption(
        new Option(
          '--grace-period <seconds>',
          'how long the old secret keeps working (at most 86400)',
        ).argParser(nonNegativeInteger),
      )
      .option('-q, --quiet', 'print only the secret (stdout) and the warning (stderr)'),
  ).action(async (id: string, options: { gracePeriod?: number; quiet?: boolean } & JsonOption) => {
    const { body } = await context.request<CreatedToken>('POST', `/tokens/${id}/rotate`, {
      body: options.gracePeriod === undefined ? {} : { gracePeriodSeconds: options.gracePeriod },
    });
    printSecret(context, body, options);
  });

  addJson(
    tokens
      .command('revoke')
      .description('Revoke a token. Irreversible; revoking it again changes nothing.')
      .argument('<id>', 'token id', tokenId),
  ).action(async (id: string, options: JsonOption) => {
    await context.request<null>('DELETE', `/tokens/${id}`);
    print(io, options.json === true ? json({ id, status: 'revoked' }) : `Revoked ${id}.`);
  });

  addJson(
    tokens
      .command('revoke-all')
      .description(
        'Revoke every active token: your own; an admin may name a user, or * for the whole account. Waits for a large account’s job, showing its progress.',
      )
      .addOption(
        new Option(
          '--user <userId>',
          `admins: this user’s tokens, or '${WHOLE_ACCOUNT}' for the whole account`,
        ).argParser(userOrAccount),
      )
      .option('--yes', 'confirm: required, there is no prompt')
      .option('--no-wait', 'do not wait for a job that finishes in the background'),
  ).action(async function (
    this: Command,
    options: { user?: string; yes?: boolean; wait: boolean } & JsonOption,
  ) {
    if (options.yes !== true) {
      this.error('error: revoking every token cannot be undone: pass --yes to confirm', {
        exitCode: EXIT.usage,
      });
    }
    const reply = await context.request<RevokeAllResult>('DELETE', '/tokens', {
      query: { userId: options.user },
    });
    let result: RevokeAllResult | RevokeAllJob = reply.body;
    if (reply.status === 202 && options.wait) {
      note(io, `Revoking in the background (job ${result.jobId})…`);
      while (result.status !== 'done') {
        await io.sleep(REVOKE_ALL_POLL_MS);
        const job: { body: RevokeAllJob } = await context.request<RevokeAllJob>(
          'GET',
          `/revoke-all-jobs/${result.jobId}`,
        );
        result = job.body;
        if (options.json !== true) note(io, `  ${result.revoked} revoked so far`);
      }
    }
    if (options.json === true) print(io, json(result));
    else if (result.status === 'done') print(io, `Revoked ${result.revoked} token(s).`);
    else
      print(
        io,
        `Job ${result.jobId} running: ${result.revoked} revoked so far. Follow it with --json or the audit log.`,
      );
  });

  return tokens;
}

function auditCommand(context: Context): Command {
  return listOptions(
    addJson(
      new Command('audit')
        .description(
          'The audit trail, newest first: your own tokens and access; an admin sees the whole account.',
        )
        .addOption(new Option('--token <id>', 'only this token’s events').argParser(tokenId))
        .addOption(new Option('--user <userId>', 'admins: only events about this user').argParser(userId)),
    ),
    'events',
  ).action(async (options: { token?: string; user?: string; limit?: number; all?: boolean } & JsonOption) => {
    const items = await paginate<AuditEvent>(
      context,
      '/audit-events',
      { tokenId: options.token, userId: options.user },
      options,
      'events',
    );
    print(
      context.io,
      options.json === true ? json(items) : items.length === 0 ? 'No events.' : table(items, AUDIT_COLUMNS),
    );
  });
}

function policyCommand(context: Context): Command {
  return addJson(
    new Command('policy').description(
      'What tokens this deployment lets you create: expiry, limits, scopes, types.',
    ),
  ).action(async (options: JsonOption) => {
    const { body } = await context.request<Policy>('GET', '/policy');
    print(context.io, options.json === true ? json(body) : policyView(body));
  });
}

function usersCommand(context: Context): Command {
  const users = new Command('users').description('Users’ token access.');
  const access = users.command('access').description('Whether a user’s tokens work (admins may switch it).');
  addJson(
    access
      .command('get')
      .description('A user’s token access: your own, or any user of your account for admins.')
      .argument('<userId>', 'user id', userId),
  ).action(async (id: string, options: JsonOption) => {
    const { body } = await context.request<TokenAccess>(
      'GET',
      `/users/${encodeURIComponent(id)}/token-access`,
    );
    print(context.io, options.json === true ? json(body) : accessView(body));
  });
  addJson(
    access
      .command('set')
      .description(
        'Admins: disable a user’s tokens (refused at once, none can be created) or enable them again.',
      )
      .argument('<userId>', 'user id', userId)
      .addArgument(new Argument('<state>', 'enabled or disabled').choices(['enabled', 'disabled'])),
  ).action(async (id: string, state: string, options: JsonOption) => {
    const { body } = await context.request<TokenAccess>(
      'PUT',
      `/users/${encodeURIComponent(id)}/token-access`,
      {
        body: { enabled: state === 'enabled' },
      },
    );
    print(context.io, options.json === true ? json(body) : accessView(body));
  });
  return users;
}

function leaksCommand(context: Context): Command {
  const leaks = new Command('leaks').description('Tokens found where they should not be.');
  addJson(
    leaks
      .command('report')
      .description(
        'Report a token of your account found in the wild: it is revoked and its owner told. The token is read from stdin, never a flag.',
      )
      .option('--url <url>', 'where it was found', url)
      .option('--source <text>', 'free text: how it was found (at most 200 characters)'),
  ).action(async function (this: Command, options: { url?: string; source?: string } & JsonOption) {
    if (options.source !== undefined && options.source.length > 200) {
      this.error('error: --source: at most 200 characters', { exitCode: EXIT.usage });
    }
    const token = await readSecretFromStdin(context.io, 'token');
    const { body } = await context.request<LeakReportResult>('POST', '/leaks', {
      body: {
        token,
        ...(options.url === undefined ? {} : { url: options.url }),
        ...(options.source === undefined ? {} : { source: options.source }),
      },
    });
    print(
      context.io,
      options.json === true
        ? json(body)
        : body.outcome === 'revoked'
          ? `Revoked ${body.tokenId}; its owner is told.`
          : `${body.tokenId} was no longer active; nothing changed.`,
    );
  });
  return leaks;
}

function loginCommand(context: Context): Command {
  const { io } = context;
  return addJson(
    new Command('login')
      .description(
        'Sign in. Deployed: in the browser (OIDC authorization code + PKCE, a loopback redirect). --local: npm start’s dev sign-in.',
      )
      .addOption(new Option('--api <url>', `the management API’s URL (or ${ENV_API})`).argParser(url))
      .addOption(
        new Option(
          '--console <url>',
          'the web console’s URL: the API and sign-in settings are read from its config.json',
        ).argParser(url),
      )
      .addOption(
        new Option('--issuer <url>', 'the OIDC issuer (with --client-id), instead of --console').argParser(
          url,
        ),
      )
      .option('--client-id <id>', 'the OIDC client id')
      .option('--no-browser', 'print the sign-in URL instead of opening the browser')
      .option('--local', `the local stack (npm start), default API ${DEFAULT_LOCAL_API}`)
      .option('--email <email>', '--local: who you are')
      .option('--account <accountId>', '--local: your account')
      .addOption(new Option('--role <role>', '--local: your role').choices(ROLES)),
  ).action(async function (
    this: Command,
    options: {
      api?: string;
      console?: string;
      issuer?: string;
      clientId?: string;
      browser: boolean;
      local?: boolean;
      email?: string;
      account?: string;
      role?: string;
    } & JsonOption,
  ) {
    let saved: { api: string; userId: string | null; expiresAt: string | null };
    /** Whether the session renews itself (the issuer gave a refresh token: cli/session.ts). */
    let renews = false;
    if (options.local === true) {
      if (options.email === undefined || options.account === undefined || options.role === undefined) {
        this.error('error: --local needs --email, --account and --role', { exitCode: EXIT.usage });
      }
      const api = options.api ?? trimSlash(io.env[ENV_API] || DEFAULT_LOCAL_API);
      const session = await localSession(io, api, {
        email: options.email,
        accountId: options.account,
        role: options.role,
      });
      saved = { api, userId: session.userId, expiresAt: session.expiresAt };
      saveCredentials(io.env, {
        api,
        jwt: session.jwt,
        kind: 'local',
        userId: session.userId,
        email: options.email,
        expiresAt: session.expiresAt,
      });
    } else {
      if (
        options.console === undefined &&
        (options.issuer === undefined || options.clientId === undefined || options.api === undefined)
      ) {
        this.error(
          'error: give --console <url>, or --api, --issuer and --client-id (or --local for npm start)',
          {
            exitCode: EXIT.usage,
          },
        );
      }
      const result = await oidcLogin(io, {
        ...(options.console === undefined ? {} : { consoleUrl: options.console }),
        ...(options.api === undefined ? {} : { api: options.api }),
        ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
        ...(options.clientId === undefined ? {} : { clientId: options.clientId }),
        openBrowser: options.browser,
      });
      saved = { api: result.api, userId: result.userId, expiresAt: expiresAtOf(result.idToken) };
      saveCredentials(io.env, {
        api: result.api,
        jwt: result.idToken,
        kind: 'oidc',
        userId: result.userId,
        email: result.email,
        expiresAt: saved.expiresAt,
        ...(result.renewal === undefined ? {} : { renewal: result.renewal }),
      });
      renews = result.renewal !== undefined;
    }
    if (options.json === true) print(io, json(saved));
    else {
      note(
        io,
        renews
          ? `Signed in to ${saved.api} as ${saved.userId ?? 'unknown'}; the session renews itself until the issuer's refresh token expires.`
          : `Signed in to ${saved.api} as ${saved.userId ?? 'unknown'} until ${saved.expiresAt ?? 'revoked'}.`,
      );
      note(io, `Credentials saved in ${credentialsPath(io.env)} (mode 0600).`);
    }
  });
}

async function localSession(
  io: CliIo,
  api: string,
  request: { email: string; accountId: string; role: string },
): Promise<{ jwt: string; userId: string; expiresAt: string }> {
  let response: Response;
  try {
    response = await io.fetch(`${api}/_local/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
  } catch {
    throw new CliError(`cannot reach the local stack at ${api}: is \`npm start\` running?`);
  }
  const body = (await response.json().catch(() => null)) as {
    jwt?: unknown;
    userId?: unknown;
    expiresAt?: unknown;
    error?: { code?: unknown; message?: unknown; details?: { path?: unknown; message?: unknown }[] };
  } | null;
  if (!response.ok || typeof body?.jwt !== 'string') {
    const details = (body?.error?.details ?? []).map(
      (detail) => `${String(detail.path)}: ${String(detail.message)}`,
    );
    throw new CliError(
      `${String(body?.error?.code ?? `HTTP_${response.status}`)}: ${String(body?.error?.message ?? 'the local sign-in failed')}${details.length === 0 ? '' : ` (${details.join('; ')})`}`,
    );
  }
  return { jwt: body.jwt, userId: String(body.userId), expiresAt: String(body.expiresAt) };
}

function logoutCommand(context: Context): Command {
  return addJson(new Command('logout').description('Remove the stored credentials.')).action(
    (options: JsonOption) => {
      const removed = removeCredentials(context.io.env);
      if (options.json === true) print(context.io, json({ removed }));
      else
        note(context.io, removed ? 'Signed out: credentials removed.' : 'Not signed in: nothing to remove.');
      if (context.io.env[ENV_JWT]) note(context.io, `${ENV_JWT} is still set in your environment.`);
    },
  );
}

/** Every command's usage line after a usage error, like `gh`. */
function usageAfterErrors(command: Command, path: string[]): void {
  const name = [...path, command.name()].join(' ');
  command.showHelpAfterError(`Usage: ${name} ${command.usage()}\nRun '${name} --help' for more.`);
  for (const sub of command.commands) usageAfterErrors(sub, [...path, command.name()]);
}

export function buildProgram(io: CliIo): Command {
  let client: Promise<ApiClient> | undefined;
  const context: Context = {
    io,
    request: async (method, path, options) => {
      client ??= currentSession(io).then((session) => new ApiClient(session, io.fetch));
      return (await client).request(method, path, options);
    },
  };
  const program = new Command('access-tokens')
    .description('Access Tokens from the command line: sign in, then create, list, rotate and revoke tokens.')
    .version(version(), '-V, --version')
    .addCommand(loginCommand(context))
    .addCommand(logoutCommand(context))
    .addCommand(tokensCommand(context))
    .addCommand(auditCommand(context))
    .addCommand(policyCommand(context))
    .addCommand(usersCommand(context))
    .addCommand(leaksCommand(context))
    .addHelpText(
      'after',
      `\nEnvironment: ${ENV_API}, ${ENV_JWT} override the stored credentials.\nExit codes: 0 ok, 1 error, 2 usage, 4 not signed in.`,
    );
  const configure = (command: Command) => {
    command.exitOverride().configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      outputError: (text, write) => write(redactSecrets(text)),
    });
    for (const sub of command.commands) configure(sub);
  };
  configure(program);
  usageAfterErrors(program, []);
  return program;
}

/** Runs the CLI with `argv` (the arguments after the program name); the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
      // Everything else commander throws is about the command line (it has printed the message).
      return EXIT.usage;
    }
    if (error instanceof CliError) {
      io.stderr(`error: ${redactSecrets(error.message)}\n`);
      return error.exitCode;
    }
    io.stderr(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.error;
  }
}
