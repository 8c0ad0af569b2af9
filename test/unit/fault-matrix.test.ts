import {
  ConditionalCheckFailedException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { credentialToItem, slotFor, slotToItem, tokenToItem } from '../../lambdas/adapters/items.js';
import { KEYS } from '../../lambdas/adapters/table-definition.js';
import { type HmacKey, hashToken } from '../../lambdas/core/hashing.js';
import { generateToken } from '../../lambdas/core/token-format.js';
import { createTokenRoute } from '../../lambdas/create-token/route.js';
import { getTokenRoute } from '../../lambdas/get-token/route.js';
import { getUserTokenAccessRoute } from '../../lambdas/get-user-token-access/route.js';
import type { ManagementDeps } from '../../lambdas/http/management-deps.js';
import type { RouteHandler } from '../../lambdas/http/route-handler.js';
import { listAuditEventsRoute } from '../../lambdas/list-audit-events/route.js';
import { listTokensRoute } from '../../lambdas/list-tokens/route.js';
import { revokeAllTokensRoute } from '../../lambdas/revoke-all-tokens/route.js';
import { revokeTokenRoute } from '../../lambdas/revoke-token/route.js';
import { rotateTokenRoute } from '../../lambdas/rotate-token/route.js';
import { ENV } from '../../lambdas/runtime/env.js';
import { setUserTokenAccessRoute } from '../../lambdas/set-user-token-access/route.js';
import type { TokenAuthorizerResult } from '../../lambdas/token-authorizer/gateway.js';
import { updateTokenRoute } from '../../lambdas/update-token/route.js';
import {
  lambdaContext as authorizerContext,
  credentialRecord,
  evaluatePolicy,
  methodArn,
  restRequestEvent,
} from '../support/authorizer-events.js';
import { transactionCanceled } from '../support/dynamo-errors.js';
import { stubHandlerEnv } from '../support/env.js';
import { managementDeps } from '../support/management-deps.js';
import {
  adminContext,
  captureLogs,
  expectContractError,
  expectOpaqueInternalError,
  type InvokeResult,
  invoke,
  proxyEvent,
} from '../support/proxy-events.js';
import { fakeRevokeAllJobs } from '../support/revoke-all-jobs.js';
import { tokenRecord } from './management/records.js';
import { batch, insertOf, issueToken } from './notifications/support.js';

// Reliability item 2: a fault matrix. Every AWS call site a request reaches, crossed with every
// kind of fault the SDK can surface (throttling, timeout/abort, 5xx, conditional failures,
// transaction conflicts). Management routes answer with the contract's error and leak nothing;
// the authorizer fails closed; the notifier hands the record back for a retry.

// Backoff sleeps (transaction retries) resolve at once, keeping the matrix fast.
vi.mock('node:timers/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:timers/promises')>();
  return { ...actual, setTimeout: async <T>(_ms?: number, value?: T) => value };
});

// ---------------------------------------------------------------------------------------------
// Faults

interface Fault {
  readonly label: string;
  readonly make: () => Error;
}

function named(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

const THROTTLING: Fault = {
  label: 'ThrottlingException',
  make: () =>
    new ThrottlingException({ message: 'Rate of requests exceeds the allowed throughput.', $metadata: {} }),
};
const PROVISIONED: Fault = {
  label: 'ProvisionedThroughputExceededException',
  make: () =>
    new ProvisionedThroughputExceededException({
      message: 'The level of configured provisioned throughput for the table was exceeded.',
      $metadata: { httpStatusCode: 400 },
    }),
};
const TIMEOUT: Fault = {
  label: 'TimeoutError',
  make: () => named('TimeoutError', 'Connection timed out after 3000 ms secret-internal-detail'),
};
const ABORT: Fault = {
  label: 'AbortError',
  make: () => named('AbortError', 'Request aborted secret-internal-detail'),
};
const SERVER: Fault = {
  label: 'InternalServerError (5xx)',
  make: () => {
    const error = new InternalServerError({
      message: 'Internal server error secret-internal-detail',
      $metadata: { httpStatusCode: 500 },
    });
    Object.assign(error, { $fault: 'server' });
    return error;
  },
};
const CONDITIONAL: Fault = {
  label: 'ConditionalCheckFailedException',
  make: () =>
    new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
};
const CONFLICT: Fault = {
  label: 'TransactionCanceled[TransactionConflict]',
  make: () => transactionCanceled(['TransactionConflict']),
};

/** Faults of any AWS API (KMS, SES). */
const GENERIC_FAULTS: readonly Fault[] = [THROTTLING, TIMEOUT, ABORT, SERVER];
/** Faults of a DynamoDB call. */
const DYNAMO_FAULTS: readonly Fault[] = [
  THROTTLING,
  PROVISIONED,
  TIMEOUT,
  ABORT,
  SERVER,
  CONDITIONAL,
  CONFLICT,
];

/** Strings of any fault that must never reach a response body. */
function leaksOf(error: Error): string[] {
  return [error.name, error.message, 'secret-internal-detail', 'stack', '    at ', 'Exception'];
}

// ---------------------------------------------------------------------------------------------
// Clients and environment (one set of mocks for the whole file: a second mockClient of the same
// class would replace the first one's stubs).

const ddb = mockClient(DynamoDBDocumentClient);
const kms = mockClient(KMSClient);
const ses = mockClient(SESClient);

const KEY_MATERIAL = Buffer.alloc(32, 7);
const HMAC_KEY: HmacKey = { version: 'v1', material: KEY_MATERIAL };
const SENDER = 'no-reply@example.com';

function resolveKms(): void {
  kms.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(KEY_MATERIAL) });
}

let cells = 0;
const summary = new Map<string, number>();
function countCell(component: string): void {
  cells += 1;
  summary.set(component, (summary.get(component) ?? 0) + 1);
}

beforeAll(() => {
  stubHandlerEnv({
    keySource: 'kms',
    policy: { verificationCacheSeconds: 0, verificationCacheNegativeSeconds: 0 },
    extra: { [ENV.notificationSenderAddress]: SENDER },
  });
});

afterEach(() => {
  ddb.reset();
  kms.reset();
  ses.reset();
});

afterAll(() => {
  vi.unstubAllEnvs();
});

// ---------------------------------------------------------------------------------------------
// Management routes

type CommandName = 'Get' | 'Query' | 'TransactWrite' | 'Update' | 'Put' | 'Decrypt';

type DynamoSite = Exclude<CommandName, 'Decrypt'>;

function rejectDynamo(site: DynamoSite, error: Error): void {
  if (site === 'Get') ddb.on(GetCommand).rejects(error);
  else if (site === 'Query') ddb.on(QueryCommand).rejects(error);
  else if (site === 'TransactWrite') ddb.on(TransactWriteCommand).rejects(error);
  else if (site === 'Update') ddb.on(UpdateCommand).rejects(error);
  else ddb.on(PutCommand).rejects(error);
}

function dynamoCalls(site: DynamoSite): number {
  if (site === 'Get') return ddb.commandCalls(GetCommand).length;
  if (site === 'Query') return ddb.commandCalls(QueryCommand).length;
  if (site === 'TransactWrite') return ddb.commandCalls(TransactWriteCommand).length;
  if (site === 'Update') return ddb.commandCalls(UpdateCommand).length;
  return ddb.commandCalls(PutCommand).length;
}

/** What a cell expects: the opaque 500, or a mapped contract error. */
type Expected = { readonly kind: 'internal' } | { readonly kind: 'contract'; status: number; code: string };
const INTERNAL: Expected = { kind: 'internal' };

interface RouteCase {
  readonly name: string;
  /** The route's factory (lambdas/<route>/route.ts). */
  readonly route: (deps: ManagementDeps) => RouteHandler;
  readonly event: () => APIGatewayProxyEvent;
  /** Mocks every call of a successful request. */
  readonly happy: () => void;
  readonly expectedStatus: number;
  /** The call sites this route reaches, each faulted with every DynamoDB (or KMS) fault. */
  readonly sites: readonly CommandName[];
  /** Designed meanings of particular (site, fault label) cells. */
  readonly designed?: Readonly<Record<string, Expected | 'success'>>;
}

const TOKEN = tokenRecord({ secretHash: 'hash-a' });

function tokenGets(): void {
  ddb.on(GetCommand).resolves({});
  ddb.on(GetCommand, { Key: KEYS.token(TOKEN.id) }).resolves({ Item: tokenToItem(TOKEN) });
}

const ROUTES: readonly RouteCase[] = [
  {
    name: 'createToken',
    route: createTokenRoute,
    event: () =>
      proxyEvent({ method: 'POST', resource: '/tokens', body: { name: 'CI', scopes: ['content:read'] } }),
    happy: () => {
      ddb.on(TransactWriteCommand).resolves({});
      ddb.on(QueryCommand).resolves({ Items: [] });
    },
    expectedStatus: 201,
    sites: ['TransactWrite', 'Decrypt'],
  },
  {
    name: 'listTokens',
    route: listTokensRoute,
    event: () => proxyEvent({ method: 'GET', resource: '/tokens' }),
    happy: () => {
      ddb.on(QueryCommand).resolves({ Items: [tokenToItem(TOKEN)] });
    },
    expectedStatus: 200,
    sites: ['Query', 'Decrypt'],
  },
  {
    name: 'revokeAllTokens',
    route: revokeAllTokensRoute,
    event: () => proxyEvent({ method: 'DELETE', resource: '/tokens' }),
    happy: () => {
      ddb.on(QueryCommand).resolves({ Items: [slotToItem(slotFor(TOKEN))] });
      tokenGets();
      ddb.on(TransactWriteCommand).resolves({});
      ddb.on(PutCommand).resolves({});
      fakeRevokeAllJobs(ddb);
    },
    expectedStatus: 200,
    // Put: the job item first (lambdas/core/revoke-all-job.ts), so every Put fault is a 500 there;
    // Update: the job's progress and end.
    sites: ['Query', 'Get', 'TransactWrite', 'Put', 'Update'],
  },
  {
    name: 'getToken',
    route: getTokenRoute,
    event: () => proxyEvent({ method: 'GET', resource: '/tokens/{id}', pathParameters: { id: TOKEN.id } }),
    happy: tokenGets,
    expectedStatus: 200,
    sites: ['Get'],
  },
  {
    name: 'revokeToken',
    route: revokeTokenRoute,
    event: () => proxyEvent({ method: 'DELETE', resource: '/tokens/{id}', pathParameters: { id: TOKEN.id } }),
    happy: () => {
      tokenGets();
      ddb.on(TransactWriteCommand).resolves({});
    },
    expectedStatus: 204,
    sites: ['Get', 'TransactWrite'],
  },
  {
    name: 'updateToken',
    route: updateTokenRoute,
    event: () =>
      proxyEvent({
        method: 'PATCH',
        resource: '/tokens/{id}',
        pathParameters: { id: TOKEN.id },
        body: { name: 'renamed' },
      }),
    happy: () => {
      tokenGets();
      ddb.on(TransactWriteCommand).resolves({});
    },
    expectedStatus: 200,
    sites: ['Get', 'TransactWrite'],
  },
  {
    name: 'rotateToken',
    route: rotateTokenRoute,
    event: () =>
      proxyEvent({
        method: 'POST',
        resource: '/tokens/{id}/rotate',
        pathParameters: { id: TOKEN.id },
        body: { gracePeriodSeconds: 600 },
      }),
    happy: () => {
      tokenGets();
      ddb.on(TransactWriteCommand).resolves({});
    },
    expectedStatus: 201,
    sites: ['Get', 'TransactWrite', 'Decrypt'],
  },
  {
    name: 'setUserTokenAccess',
    route: setUserTokenAccessRoute,
    event: () =>
      proxyEvent({
        method: 'PUT',
        resource: '/users/{userId}/token-access',
        pathParameters: { userId: 'user-1' },
        body: { enabled: false },
        caller: adminContext(),
      }),
    happy: () => {
      tokenGets();
      ddb.on(TransactWriteCommand).resolves({});
      ddb.on(QueryCommand).resolves({ Items: [slotToItem(slotFor(TOKEN))] });
      ddb.on(UpdateCommand).resolves({});
    },
    expectedStatus: 200,
    sites: ['Get', 'TransactWrite', 'Query', 'Update'],
    // A failed condition on a credential's switch means it is already in that state.
    designed: {
      [`Update/${CONDITIONAL.label}`]: 'success',
      // Lost the race on the switch every attempt: the documented 409 CONFLICT (try again).
      [`TransactWrite/${CONFLICT.label}`]: { kind: 'contract', status: 409, code: 'CONFLICT' },
    },
  },
  {
    name: 'getUserTokenAccess',
    route: getUserTokenAccessRoute,
    event: () =>
      proxyEvent({
        method: 'GET',
        resource: '/users/{userId}/token-access',
        pathParameters: { userId: 'user-1' },
        caller: adminContext(),
      }),
    happy: () => {
      ddb.on(GetCommand).resolves({});
    },
    expectedStatus: 200,
    sites: ['Get'],
  },
  {
    name: 'listAuditEvents',
    route: listAuditEventsRoute,
    event: () => proxyEvent({ method: 'GET', resource: '/audit-events' }),
    happy: () => {
      ddb.on(QueryCommand).resolves({ Items: [] });
    },
    expectedStatus: 200,
    sites: ['Query', 'Decrypt'],
  },
];

/** Cancellations whose ConditionalCheckFailed the services map to a domain error. */
interface MappedCancellation {
  readonly route: string;
  readonly codes: readonly string[];
  readonly expected: Expected;
}
const MAPPED_CANCELLATIONS: readonly MappedCancellation[] = [
  {
    route: 'createToken',
    codes: ['None', 'None', 'None', 'None', 'None', 'ConditionalCheckFailed', 'None'],
    expected: { kind: 'contract', status: 403, code: 'FORBIDDEN' },
  },
  {
    route: 'createToken',
    codes: ['None', 'None', 'ConditionalCheckFailed', 'None', 'None', 'None', 'None'],
    expected: { kind: 'contract', status: 409, code: 'LIMIT_EXCEEDED' },
  },
  {
    route: 'updateToken',
    codes: ['ConditionalCheckFailed', 'None', 'None'],
    expected: { kind: 'contract', status: 409, code: 'CONFLICT' },
  },
  {
    route: 'rotateToken',
    codes: ['ConditionalCheckFailed', 'None', 'None', 'None', 'None'],
    expected: { kind: 'contract', status: 409, code: 'CONFLICT' },
  },
];

async function run(route: RouteCase): Promise<InvokeResult> {
  // A fresh container per cell: the HMAC key is decrypted once per container and cached.
  const handler = route.route(managementDeps({ keySource: 'kms', tableName: 'access-tokens-test' }));
  const logs = captureLogs();
  try {
    return await invoke(handler, route.event());
  } finally {
    logs.restore();
  }
}

function assertExpected(result: InvokeResult, expected: Expected, error: Error): void {
  if (expected.kind === 'internal') {
    expectOpaqueInternalError(result);
    expect(result.json).not.toHaveProperty('error.details');
  } else {
    expectContractError(result, expected.status, expected.code);
  }
  for (const leak of leaksOf(error)) expect(result.rawBody).not.toContain(leak);
}

interface ManagementCell {
  readonly route: RouteCase;
  readonly site: CommandName;
  readonly fault: Fault;
}

const MANAGEMENT_CELLS: readonly ManagementCell[] = ROUTES.flatMap((route) =>
  route.sites.flatMap((site) =>
    (site === 'Decrypt' ? GENERIC_FAULTS : DYNAMO_FAULTS).map((fault) => ({ route, site, fault })),
  ),
);

describe('management routes: every call site x every fault', () => {
  it.each(ROUTES.map((route) => [route.name, route] as const))(
    'baseline: %s succeeds with every call mocked',
    async (_name, route) => {
      resolveKms();
      route.happy();
      expect((await run(route)).status).toBe(route.expectedStatus);
    },
  );

  it.each(MANAGEMENT_CELLS.map((cell) => [cell.route.name, cell.site, cell.fault.label, cell] as const))(
    '%s: %s fails with %s',
    async (_route, _site, _fault, { route, site, fault }) => {
      countCell(`management/${route.name}`);
      resolveKms();
      route.happy();
      const error = fault.make();
      if (site === 'Decrypt') kms.on(DecryptCommand).rejects(error);
      else rejectDynamo(site, error);
      const result = await run(route);

      // The faulted call was really reached.
      const reached = site === 'Decrypt' ? kms.commandCalls(DecryptCommand).length : dynamoCalls(site);
      expect(reached).toBeGreaterThan(0);

      const designed = route.designed?.[`${site}/${fault.label}`];
      if (designed === 'success') {
        expect(result.status).toBe(route.expectedStatus);
        return;
      }
      assertExpected(result, designed ?? INTERNAL, error);

      // No write left half done: a failed key decrypt writes nothing; a failed transaction is not
      // followed (or preceded) by a separate Put or Update outside it.
      if (site === 'Decrypt') {
        expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
        expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
        expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
      }
      if (site === 'TransactWrite') {
        // The revoke-all job item is written before any revocation and is not part of one.
        const outsideJobs = (item: Record<string, unknown> | undefined) =>
          item?.entity !== 'revokeAllJob' && item?.sk !== 'REVOKE_ALL';
        expect(
          ddb.commandCalls(PutCommand).filter((call) => outsideJobs(call.args[0].input.Item)),
        ).toHaveLength(0);
        expect(
          ddb.commandCalls(UpdateCommand).filter((call) => outsideJobs(call.args[0].input.Key)),
        ).toHaveLength(0);
      }
    },
  );

  it.each(MAPPED_CANCELLATIONS.map((cell) => [cell.route, cell.codes.join(','), cell] as const))(
    '%s: TransactionCanceled[%s] maps to its domain error',
    async (name, _codes, { codes, expected }) => {
      countCell(`management/${name}`);
      const route = ROUTES.find((candidate) => candidate.name === name);
      if (route === undefined) throw new Error(`no route ${name}`);
      resolveKms();
      route.happy();
      const error = transactionCanceled(codes);
      ddb.on(TransactWriteCommand).rejects(error);
      assertExpected(await run(route), expected, error);
      expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
      expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Token authorizer

type AuthorizerHandler = (
  event: unknown,
  context: ReturnType<typeof authorizerContext>,
) => Promise<TokenAuthorizerResult>;

const DEPENDENCY_FAILURE = { message: 'Authorizer dependency failure' };
const ARN = methodArn('GET', '/demo/content/items');

describe('token authorizer: fails closed on every dependency fault', () => {
  const { secret } = generateToken('atk');
  const credential = credentialRecord({ secretHash: hashToken(HMAC_KEY, secret) });
  const event = () => restRequestEvent({ authorization: `Bearer ${secret}`, basePath: '/demo' });

  async function loadAuthorizer(): Promise<AuthorizerHandler> {
    vi.resetModules();
    const module = await import('../../lambdas/token-authorizer/handler.js');
    return module.handler as unknown as AuthorizerHandler;
  }

  beforeEach(() => {
    resolveKms();
    ddb
      .on(GetCommand)
      .callsFake((input: GetCommandInput) =>
        input.Key?.pk === KEYS.credential(credential.secretHash).pk
          ? { Item: credentialToItem(credential) }
          : {},
      );
    ddb.on(UpdateCommand).resolves({});
  });

  async function decide(handler: AuthorizerHandler): Promise<TokenAuthorizerResult> {
    const logs = captureLogs();
    try {
      return await handler(event(), authorizerContext());
    } finally {
      logs.restore();
    }
  }

  /** Lets the background lastUsedAt update settle. */
  async function settle(): Promise<void> {
    for (let index = 0; index < 5; index++) await new Promise((resolve) => setImmediate(resolve));
  }

  it('baseline: Allow, and one lastUsedAt UpdateItem in the background', async () => {
    const result = await decide(await loadAuthorizer());
    expect(evaluatePolicy(result as Parameters<typeof evaluatePolicy>[0], ARN)).toBe('allow');
    await settle();
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
  });

  it.each(GENERIC_FAULTS.map((fault) => [fault.label, fault] as const))(
    'KMS Decrypt fails with %s: the generic dependency error, never an Allow',
    async (_label, fault) => {
      countCell('authorizer/Decrypt');
      kms.on(DecryptCommand).rejects(fault.make());
      const handler = await loadAuthorizer();
      await expect(decide(handler)).rejects.toMatchObject(DEPENDENCY_FAILURE);
      await expect(decide(handler)).rejects.toThrowError(/^Authorizer dependency failure$/);
      expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    },
  );

  it.each(DYNAMO_FAULTS.map((fault) => [fault.label, fault] as const))(
    'credential GetItem fails with %s: the generic dependency error, never an Allow',
    async (_label, fault) => {
      countCell('authorizer/GetItem');
      ddb.on(GetCommand).rejects(fault.make());
      const handler = await loadAuthorizer();
      const outcome = await decide(handler).then(
        (result) => ({ ok: true as const, result }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) {
        expect(outcome.error).toBeInstanceOf(Error);
        expect((outcome.error as Error).message).toBe(DEPENDENCY_FAILURE.message);
        expect((outcome.error as Error).message).not.toContain(fault.label);
      }
      await settle();
      expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
    },
  );

  it.each(DYNAMO_FAULTS.map((fault) => [fault.label, fault] as const))(
    'lastUsedAt UpdateItem fails with %s: the decision is unchanged (Allow), nothing rejects',
    async (_label, fault) => {
      countCell('authorizer/UpdateItem');
      ddb.on(UpdateCommand).rejects(fault.make());
      const handler = await loadAuthorizer();
      const first = await decide(handler);
      await settle();
      expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
      const second = await decide(handler);
      await settle();
      for (const result of [first, second]) {
        expect(evaluatePolicy(result as Parameters<typeof evaluatePolicy>[0], ARN)).toBe('allow');
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Notifier

type NotifierHandler = (
  event: DynamoDBStreamEvent,
  context: ReturnType<typeof authorizerContext>,
) => Promise<DynamoDBBatchResponse>;

describe('notifier: a fault hands the record back for a retry', () => {
  const notifierContext = () => ({
    ...authorizerContext('notifier'),
    getRemainingTimeInMillis: () => 300_000,
  });

  async function loadNotifier(): Promise<NotifierHandler> {
    vi.resetModules();
    const module = await import('../../lambdas/notifier/handler.js');
    return module.handler as unknown as NotifierHandler;
  }

  beforeEach(() => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-message-1' });
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    ddb.on(DeleteCommand).resolves({});
    ddb.on(GetCommand).resolves({});
  });

  async function deliver(): Promise<{ response: DynamoDBBatchResponse; sequenceNumbers: string[] }> {
    const event = batch(insertOf(issueToken({ ownerEmail: 'alice@example.com' }).token));
    const handler = await loadNotifier();
    const logs = captureLogs();
    try {
      const response = await handler(event, notifierContext());
      return {
        response,
        sequenceNumbers: event.Records.map((record) => String(record.dynamodb?.SequenceNumber)),
      };
    } finally {
      logs.restore();
    }
  }

  it('baseline: sent, claimed and marked, no failures', async () => {
    const { response } = await deliver();
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
  });

  it.each(GENERIC_FAULTS.map((fault) => [fault.label, fault] as const))(
    'SES SendEmail fails with %s: batch item failure, claim released',
    async (_label, fault) => {
      countCell('notifier/SendEmail');
      ses.on(SendEmailCommand).rejects(fault.make());
      const { response, sequenceNumbers } = await deliver();
      expect(response.batchItemFailures.map((item) => item.itemIdentifier)).toEqual(sequenceNumbers);
      expect(ddb.commandCalls(DeleteCommand)).toHaveLength(1);
      expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
    },
  );

  it.each(DYNAMO_FAULTS.map((fault) => [fault.label, fault] as const))(
    'idempotency claim PutItem fails with %s: batch item failure, nothing sent',
    async (_label, fault) => {
      countCell('notifier/PutItem');
      ddb.on(PutCommand).rejects(fault.make());
      const { response, sequenceNumbers } = await deliver();
      expect(response.batchItemFailures.map((item) => item.itemIdentifier)).toEqual(sequenceNumbers);
      expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
    },
  );

  it.each(DYNAMO_FAULTS.map((fault) => [fault.label, fault] as const))(
    'idempotency mark-sent UpdateItem fails with %s: the email went out once; the mark is retried, the record not',
    async (_label, fault) => {
      countCell('notifier/UpdateItem');
      ddb.on(UpdateCommand).rejects(fault.make());
      const { response } = await deliver();
      // Designed (lambdas/core/notifications/notifier.ts): the mark is retried; if it still fails,
      // the claim lapses into "maybe sent" (never sent again), so the record is not retried.
      expect(response).toEqual({ batchItemFailures: [] });
      expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
    },
  );
});

describe('fault matrix summary', () => {
  it('counts the cells', () => {
    const lines = [...summary.entries()].map(([component, count]) => `  ${component}: ${count}`);
    console.info(`fault matrix: ${cells} cells\n${lines.join('\n')}`);
    expect(cells).toBe(MANAGEMENT_CELLS.length + MAPPED_CANCELLATIONS.length + 4 + 7 + 7 + 4 + 7 + 7);
  });
});
