import { describe, expect, it } from 'vitest';
import { parsePolicySettings } from '../../../lambdas/contract/policy-settings.js';
import { ENV } from '../../../lambdas/runtime/env.js';
import { loadDeploymentConfig } from '../../../lib/config.js';
import {
  checkFunctionEnvironments,
  type FunctionEnvironmentSpec,
  functionEnvironment,
  LOCAL_FUNCTION_ENVIRONMENTS,
} from '../../../local/function-environments.js';
import { handlerEnvironment } from '../../../local/handler-environment.js';
import { REPOSITORY_ROOT } from '../../../local/stack.js';

// Each local function gets the environment its deployed function gets (pointed at the emulators),
// not the one environment the local process shares: a handler that reads a variable its function is
// not deployed with fails the local stack's start, as it would fail its cold start deployed.

const config = loadDeploymentConfig({});
const LOCAL = handlerEnvironment({
  config,
  policy: parsePolicySettings(config.policy, 'default policy'),
  tableName: 'local-table',
  hmacKeyFile: '/data/hmac.key',
  gatewayUrl: 'http://127.0.0.1:1',
  dynamoDbUrl: 'http://127.0.0.1:2',
  sesUrl: 'http://127.0.0.1:3',
});

function specOf(name: string): FunctionEnvironmentSpec {
  const spec = LOCAL_FUNCTION_ENVIRONMENTS.find((candidate) => candidate.name === name);
  if (spec === undefined) throw new Error(`no local function ${name}`);
  return spec;
}

const FIXTURE = 'test/fixtures/local/table-reader-handler.ts';

describe('local function environments', () => {
  it('gives each function only the variables its deployed function has, with local stand-ins', () => {
    const getPolicy = functionEnvironment(specOf('getPolicy'), LOCAL);
    const getToken = functionEnvironment(specOf('getToken'), LOCAL);
    const createToken = functionEnvironment(specOf('createToken'), LOCAL);
    const tokenAuthorizer = functionEnvironment(specOf('tokenAuthorizer'), LOCAL);
    const jwtAuthorizer = functionEnvironment(specOf('jwtAuthorizer'), LOCAL);

    // The shared process environment has the table's name; the policy route is deployed without it.
    expect(LOCAL[ENV.tableName]).toBe('local-table');
    expect(getPolicy).not.toHaveProperty(ENV.tableName);
    expect(getToken[ENV.tableName]).toBe('local-table');
    // The HMAC key (the local key file standing in for KMS) only where it is deployed.
    expect(createToken[ENV.hmacKeyFile]).toBe('/data/hmac.key');
    expect(getToken).not.toHaveProperty(ENV.hmacKeyFile);
    expect(tokenAuthorizer[ENV.authorizerBasePath]).toBe('');
    expect(createToken).not.toHaveProperty(ENV.authorizerBasePath);
    expect(jwtAuthorizer[ENV.jwtIssuer]).toBe('http://127.0.0.1:1/_local');
    expect(tokenAuthorizer).not.toHaveProperty(ENV.jwtIssuer);
    // Every function reaches the emulators.
    for (const env of [getPolicy, getToken, tokenAuthorizer]) {
      expect(env.AWS_ENDPOINT_URL_DYNAMODB).toBe('http://127.0.0.1:2');
    }
  });

  it('fails the start when a handler reads a variable its deployed function lacks, naming both', async () => {
    // The policy route is deployed without TABLE_NAME: a handler of it that reads the table's name
    // must fail locally too.
    const lacking: FunctionEnvironmentSpec = { ...specOf('getPolicy'), entry: FIXTURE };
    await expect(checkFunctionEnvironments(REPOSITORY_ROOT, LOCAL, [lacking])).rejects.toThrow(
      /getPolicy \(test\/fixtures\/local\/table-reader-handler\.ts\).*Missing required environment variable TABLE_NAME/,
    );
  });

  it('loads the same handler under a function deployed with the variable, each with its own value', async () => {
    const withTable: FunctionEnvironmentSpec = { ...specOf('getToken'), entry: FIXTURE };
    await expect(checkFunctionEnvironments(REPOSITORY_ROOT, LOCAL, [withTable])).resolves.toBeUndefined();
    // A function is checked with its own value, not the process's: an empty table name fails.
    const emptyTable = { ...LOCAL, [ENV.tableName]: '' };
    await expect(checkFunctionEnvironments(REPOSITORY_ROOT, emptyTable, [withTable])).rejects.toThrow(
      /getToken .*TABLE_NAME/,
    );
  });
});
