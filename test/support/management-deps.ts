import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoAuditLog } from '../../lambdas/adapters/dynamo-audit-log.js';
import { DynamoCredentialReader } from '../../lambdas/adapters/dynamo-credential-reader.js';
import { DynamoLastUsedRecorder } from '../../lambdas/adapters/dynamo-last-used-recorder.js';
import { DynamoRevokeAllJobs } from '../../lambdas/adapters/dynamo-revoke-all-jobs.js';
import { DynamoTokenRepository } from '../../lambdas/adapters/dynamo-token-repository.js';
import { DynamoUserAccessRepository } from '../../lambdas/adapters/dynamo-user-access.js';
import { ensureLocalKeyFile, FileKeySource } from '../../lambdas/adapters/file-key-source.js';
import { HttpGithubPublicKeys } from '../../lambdas/adapters/github-public-keys.js';
import { KmsKeySource } from '../../lambdas/adapters/kms-key-source.js';
import {
  DEFAULT_POLICY_SETTINGS,
  type PolicySettingsInput,
  parsePolicySettings,
} from '../../lambdas/contract/policy-settings.js';
import type { ManagementRouteName } from '../../lambdas/contract/routes.js';
import { CURRENT_CURSOR_KEY_VERSION, CURSOR_KEY_PURPOSE } from '../../lambdas/core/key-context.js';
import { type Clock, type KeySource, systemClock } from '../../lambdas/core/ports.js';
import type { RevokeAllJobDeps } from '../../lambdas/core/revoke-all-job.js';
import { createTokenRoute } from '../../lambdas/create-token/route.js';
import { getPolicyRoute } from '../../lambdas/get-policy/route.js';
import { getRevokeAllJobRoute } from '../../lambdas/get-revoke-all-job/route.js';
import { getTokenRoute } from '../../lambdas/get-token/route.js';
import { getUserTokenAccessRoute } from '../../lambdas/get-user-token-access/route.js';
import type { ManagementDeps } from '../../lambdas/http/management-deps.js';
import type { RouteHandler } from '../../lambdas/http/route-handler.js';
import { listAuditEventsRoute } from '../../lambdas/list-audit-events/route.js';
import { listTokensRoute } from '../../lambdas/list-tokens/route.js';
import { getOpenApiRoute } from '../../lambdas/openapi/route.js';
import { reportLeakRoute } from '../../lambdas/report-leak/route.js';
import { reportLeaksRoute } from '../../lambdas/report-leaks/route.js';
import { revokeAllTokensRoute } from '../../lambdas/revoke-all-tokens/route.js';
import { revokeTokenRoute } from '../../lambdas/revoke-token/route.js';
import { rotateTokenRoute } from '../../lambdas/rotate-token/route.js';
import { inProcessRevokeAllContinuation } from '../../lambdas/runtime/revoke-all-jobs.js';
import { SDK_REQUEST_TIMEOUT_ENV, sdkClientConfig } from '../../lambdas/runtime/sdk-options.js';
import { setUserTokenAccessRoute } from '../../lambdas/set-user-token-access/route.js';
import { updateTokenRoute } from '../../lambdas/update-token/route.js';
import { verifyTokenRoute } from '../../lambdas/verify-token/route.js';

// The management routes' dependencies for tests, built directly (no environment, no module
// reloading): the real DynamoDB adapters on a document client of their own (aws-sdk-client-mock's
// `mockClient(DynamoDBDocumentClient)` mocks every instance; `dynamoEndpoint` points it at
// DynamoDB Local instead), and the HMAC and cursor keys from temp key files (under the test file's
// own temp directory, test/support/temp-dir.ts) or from KMS (`mockClient(KMSClient)`). Each call
// builds fresh adapters, so a key decrypted once is not kept from one call to the next: a new
// container. What the deployed functions build from their environment instead is
// lambdas/<route>/handler.ts.

const FAKE_HMAC_CIPHERTEXT = Buffer.from('fake-ciphertext').toString('base64');
const FAKE_CURSOR_CIPHERTEXT = Buffer.from('fake-cursor-ciphertext').toString('base64');

interface ManagementDepsOptions {
  readonly tableName?: string;
  /** DynamoDB Local's endpoint; unset for a client that aws-sdk-client-mock mocks. */
  readonly dynamoEndpoint?: string;
  readonly policy?: PolicySettingsInput;
  /** 'file' (fresh temp key files, the default) or 'kms' (fake ciphertexts; mock KMS Decrypt). */
  readonly keySource?: 'file' | 'kms';
  readonly clock?: Clock;
}

interface TestManagementDeps extends ManagementDeps {
  /** The HMAC key file ('file' key source only). */
  readonly keyFile: string | undefined;
}

const TEST_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export function managementDeps(options: ManagementDepsOptions = {}): TestManagementDeps {
  const tableName = options.tableName ?? 'tokens-table';
  const settings =
    options.policy === undefined ? DEFAULT_POLICY_SETTINGS : parsePolicySettings(options.policy);
  const clock = options.clock ?? systemClock;
  const documentClient = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      // DynamoDB Local on a loaded machine can take seconds per call (lambdas/runtime/sdk-options.ts).
      ...sdkClientConfig(options.dynamoEndpoint === undefined ? {} : { [SDK_REQUEST_TIMEOUT_ENV]: '30000' }),
      region: 'us-east-1',
      credentials: TEST_CREDENTIALS,
      ...(options.dynamoEndpoint === undefined ? {} : { endpoint: options.dynamoEndpoint }),
    }),
    { marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false } },
  );
  const retention = { auditRetentionDays: settings.auditRetentionDays };
  const tokens = new DynamoTokenRepository(documentClient, tableName, retention);
  const auditLog = new DynamoAuditLog(documentClient, tableName, retention);
  const revokeAllJobs = new DynamoRevokeAllJobs(documentClient, tableName);
  const revokeAll: { -readonly [K in keyof RevokeAllJobDeps]: RevokeAllJobDeps[K] } = {
    repository: tokens,
    auditLog,
    jobs: revokeAllJobs,
    clock,
    continuation: { continueLater: async () => {} },
  };
  revokeAll.continuation = inProcessRevokeAllContinuation(revokeAll);
  const keys = (options.keySource ?? 'file') === 'file' ? fileKeys() : kmsKeys();
  return {
    tokens,
    userAccess: new DynamoUserAccessRepository(documentClient, tableName, retention),
    credentials: new DynamoCredentialReader(documentClient, tableName),
    lastUsed: new DynamoLastUsedRecorder(documentClient, tableName),
    auditLog,
    revokeAllJobs,
    revokeAll,
    settings,
    clock,
    githubKeys: new HttpGithubPublicKeys(settings.leaksPublicKeysUrl),
    ...keys,
  };
}

function fileKeys(): { hmacKey: KeySource; cursorKey: KeySource; keyFile: string } {
  const keyFile = join(mkdtempSync(join(tmpdir(), 'atk-key-')), 'hmac.key');
  const cursorFile = join(dirname(keyFile), 'cursor.key');
  ensureLocalKeyFile(keyFile);
  ensureLocalKeyFile(cursorFile);
  return {
    hmacKey: new FileKeySource(keyFile),
    cursorKey: new FileKeySource(cursorFile, CURRENT_CURSOR_KEY_VERSION),
    keyFile,
  };
}

function kmsKeys(): { hmacKey: KeySource; cursorKey: KeySource; keyFile: undefined } {
  const kms = new KMSClient({ ...sdkClientConfig({}), region: 'us-east-1', credentials: TEST_CREDENTIALS });
  return {
    hmacKey: new KmsKeySource(kms, FAKE_HMAC_CIPHERTEXT, 'v1'),
    cursorKey: new KmsKeySource(kms, FAKE_CURSOR_CIPHERTEXT, 'v1', CURSOR_KEY_PURPOSE),
    keyFile: undefined,
  };
}

/**
 * Every management route's factory, by route name: a route added to the route table does not
 * compile here until its factory is listed (the key type is the route table's names).
 */
export const MANAGEMENT_ROUTE_FACTORIES: Readonly<
  Record<ManagementRouteName, (deps: ManagementDeps) => RouteHandler>
> = {
  createToken: createTokenRoute,
  listTokens: listTokensRoute,
  revokeAllTokens: revokeAllTokensRoute,
  getRevokeAllJob: getRevokeAllJobRoute,
  getToken: getTokenRoute,
  revokeToken: revokeTokenRoute,
  updateToken: updateTokenRoute,
  rotateToken: rotateTokenRoute,
  setUserTokenAccess: setUserTokenAccessRoute,
  getUserTokenAccess: getUserTokenAccessRoute,
  listAuditEvents: listAuditEventsRoute,
  getPolicy: getPolicyRoute,
  reportLeaks: reportLeaksRoute,
  reportLeak: reportLeakRoute,
  verifyToken: verifyTokenRoute,
  getOpenApi: getOpenApiRoute,
};

/** Every management route's handler on `deps`. */
export function managementRoutes(deps: ManagementDeps): Record<ManagementRouteName, RouteHandler> {
  return Object.fromEntries(
    Object.entries(MANAGEMENT_ROUTE_FACTORIES).map(([name, factory]) => [name, factory(deps)]),
  ) as Record<ManagementRouteName, RouteHandler>;
}
