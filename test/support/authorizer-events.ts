import { readFileSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import { type MockInstance, vi } from 'vitest';
import type { CredentialRecord } from '../../lambdas/core/model.js';

// Authorizer and proxy events built from the AWS samples in test/fixtures/aws-events (so every test
// starts from a real event shape, quirks included), plus what the authorizer tests share: a Lambda
// context, an IAM-style policy evaluator and a stdout capture for Powertools log lines.

type Json = Record<string, unknown>;

function fixture(name: string): Json {
  return JSON.parse(readFileSync(new URL(`../fixtures/aws-events/${name}`, import.meta.url), 'utf8')) as Json;
}

const REST_REQUEST = fixture('rest-request-authorizer.json');
const HTTP_V2 = fixture('http-api-v2-authorizer.json');
const REST_PROXY = fixture('rest-proxy.json');

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const REST_API_ID = 'abcdef123';
const REST_STAGE = 'test';

export function methodArn(method: string, path: string, apiId = REST_API_ID, stage = REST_STAGE): string {
  return `arn:aws:execute-api:${REGION}:${ACCOUNT}:${apiId}/${stage}/${method}${path}`;
}

interface RestRequestOptions {
  /** The Authorization header value; omitted = no header at all. */
  readonly authorization?: string;
  /** How the header name is spelled. */
  readonly headerName?: string;
  readonly method?: string;
  readonly path?: string;
  /** Default: the sample's `test-invoke-source-ip`. */
  readonly sourceIp?: string;
  /** The `accessTokensBasePath` stage variable; omitted = the sample's stage variables only. */
  readonly basePath?: string;
  /** The matched resource's template (`resource`, `requestContext.resourcePath`); default: the path. */
  readonly resource?: string;
  /** More stage variables (e.g. `accessTokensRoutes`). */
  readonly stageVariables?: Readonly<Record<string, string>>;
  /**
   * The identity-source values as the event carries them (comma-joined); null = the field absent.
   * Default: what the TokenAuthorizer construct's sources give (lib/token-authorizer.ts): the
   * Authorization header and the source IP, plus the method and the template when the stage has a
   * route map.
   */
  readonly identitySource?: string | null;
}

/** A REST API REQUEST authorizer event: the sample with this request's method, path and header. */
export function restRequestEvent(options: RestRequestOptions = {}): Json {
  const event = structuredClone(REST_REQUEST);
  const method = options.method ?? 'GET';
  const path = options.path ?? '/demo/content/items';
  const headers = { ...(event.headers as Json) };
  if (options.authorization !== undefined)
    headers[options.headerName ?? 'Authorization'] = options.authorization;
  const requestContext = structuredClone(event.requestContext as Json);
  const identity = { ...(requestContext.identity as Json) };
  if (options.sourceIp !== undefined) identity.sourceIp = options.sourceIp;
  const resource = options.resource ?? path;
  const constructSources = [
    options.authorization ?? '',
    String(identity.sourceIp),
    ...(options.stageVariables?.accessTokensRoutes === undefined ? [] : [method, resource]),
  ];
  const identitySource =
    options.identitySource === undefined ? constructSources.join(',') : options.identitySource;
  const { identitySource: _sample, ...rest } = event;
  return {
    ...rest,
    ...(identitySource === null ? {} : { identitySource }),
    methodArn: methodArn(method, path),
    httpMethod: method,
    path,
    resource,
    headers,
    stageVariables: {
      ...(event.stageVariables as Json),
      ...(options.basePath === undefined ? {} : { accessTokensBasePath: options.basePath }),
      ...options.stageVariables,
    },
    requestContext: { ...requestContext, httpMethod: method, path, resourcePath: resource, identity },
  };
}

/** A REST API TOKEN authorizer event (no headers, no stage variables, no source IP). */
export function restTokenEvent(authorization: string, method = 'GET', path = '/content/items'): Json {
  return { type: 'TOKEN', authorizationToken: authorization, methodArn: methodArn(method, path) };
}

interface HttpRequestOptions {
  readonly authorization?: string;
  readonly headerName?: string;
  /** `requestContext.http.method`; default: the sample's POST (its routeKey says GET). */
  readonly method?: string;
  readonly path?: string;
  readonly routeKey?: string;
  readonly sourceIp?: string;
  readonly stage?: string;
  readonly basePath?: string;
  readonly stageVariables?: Readonly<Record<string, string>>;
}

/** An HTTP API (payload 2.0) authorizer event: the sample with this request. */
export function httpEvent(options: HttpRequestOptions = {}): Json {
  const event = structuredClone(HTTP_V2);
  const requestContext = event.requestContext as Json;
  const http = { ...(requestContext.http as Json) };
  const path = options.path ?? (event.rawPath as string);
  if (options.method !== undefined) http.method = options.method;
  if (options.sourceIp !== undefined) http.sourceIp = options.sourceIp;
  http.path = path;
  const headers = { ...(event.headers as Json) };
  delete headers.Authorization;
  if (options.authorization !== undefined)
    headers[options.headerName ?? 'authorization'] = options.authorization;
  return {
    ...event,
    rawPath: path,
    headers,
    ...(options.routeKey === undefined ? {} : { routeKey: options.routeKey }),
    stageVariables: {
      ...(event.stageVariables as Json),
      ...(options.basePath === undefined ? {} : { accessTokensBasePath: options.basePath }),
      ...options.stageVariables,
    },
    requestContext: {
      ...requestContext,
      http,
      ...(options.routeKey === undefined ? {} : { routeKey: options.routeKey }),
      ...(options.stage === undefined ? {} : { stage: options.stage }),
    },
  };
}

/** A REST proxy integration event for the demo API, with an authorizer context. */
export function restProxyEvent(
  method: string,
  path: string,
  authorizer: Json | null,
  basePath = '/demo',
): Json {
  const event = structuredClone(REST_PROXY);
  const requestContext = event.requestContext as Json;
  return {
    ...event,
    httpMethod: method,
    path,
    resource: path,
    stageVariables: { accessTokensBasePath: basePath },
    requestContext: { ...requestContext, httpMethod: method, path, authorizer },
  };
}

export function lambdaContext(functionName = 'authorizer'): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/01/01/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => 3000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A credential as the repository writes it; active, valid for a day, `content:read` only. */
export function credentialRecord(overrides: Partial<CredentialRecord> = {}): CredentialRecord {
  return {
    secretHash: 'hash',
    tokenId: 'tok_0000000000000000000001',
    userId: 'user-1',
    accountId: 'acct-1',
    scopes: ['content:read'],
    type: 'standard',
    allowedIps: [],
    state: 'active',
    expiresAtMs: Date.now() + 86_400_000,
    notAfterMs: null,
    keyVersion: 'v1',
    disabled: false,
    accessGeneration: 0,
    limits: null,
    ...overrides,
  };
}

// --- IAM-style policy evaluation, as API Gateway applies a (cached) authorizer policy -------------

interface Statement {
  readonly Effect: string;
  readonly Action?: string | string[];
  /** Statements without Resource (NotResource, Principal forms) never match here: we emit none. */
  readonly Resource?: string | string[];
}

interface PolicyLike {
  readonly policyDocument: { readonly Statement: readonly Statement[] };
}

const asList = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** IAM wildcard match: `*` any run of characters (slashes included), `?` exactly one. */
function arnMatches(pattern: string, arn: string): boolean {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`).test(arn);
}

/** 'allow' only when an Allow statement matches and no Deny does: explicit deny wins, default deny. */
export function evaluatePolicy(result: PolicyLike, arn: string): 'allow' | 'explicit-deny' | 'implicit-deny' {
  const matching = result.policyDocument.Statement.filter(
    (statement) =>
      asList(statement.Action).some((action) => action === 'execute-api:Invoke' || action === '*') &&
      asList(statement.Resource).some((resource) => arnMatches(resource, arn)),
  );
  if (matching.some((statement) => statement.Effect === 'Deny')) return 'explicit-deny';
  return matching.some((statement) => statement.Effect === 'Allow') ? 'allow' : 'implicit-deny';
}

// --- Log capture -----------------------------------------------------------------------------------

export interface StdoutCapture {
  /** Everything written since the capture started (or since clear()). */
  text(): string;
  /** The JSON log lines written, parsed. */
  records(): Json[];
  clear(): void;
  restore(): void;
}

/**
 * Captures process.stdout and process.stderr, where Powertools Logger writes its JSON lines (INFO
 * to stdout; WARN and ERROR to stderr, through its own Console bound to both streams).
 */
export function captureStdout(): StdoutCapture {
  const chunks: string[] = [];
  const record = (chunk: unknown) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  const spies: MockInstance[] = [
    vi.spyOn(process.stdout, 'write').mockImplementation(record),
    vi.spyOn(process.stderr, 'write').mockImplementation(record),
  ];
  return {
    text: () => chunks.join(''),
    records: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.trim().startsWith('{'))
        .map((line) => JSON.parse(line) as Json),
    clear: () => {
      chunks.length = 0;
    },
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
}
