// Environment variable names shared by the CDK stack (which sets them), the handlers (which read
// them at load) and the tests. A handler reads what it needs through requireEnv, so a missing
// variable fails the cold start with its name instead of failing a request later.

export const ENV = {
  tableName: 'TABLE_NAME',
  /** JSON of PolicySettings (lambdas/core/settings.ts). */
  policySettings: 'POLICY_SETTINGS',
  hmacKeyCiphertext: 'HMAC_KEY_CIPHERTEXT',
  hmacKeyVersion: 'HMAC_KEY_VERSION',
  /** Local stack only: a file holding the HMAC key, used instead of KMS. */
  hmacKeyFile: 'HMAC_KEY_FILE',
  /** The list handlers' cursor-signing key (its own data key, not the HMAC key). */
  cursorKeyCiphertext: 'CURSOR_KEY_CIPHERTEXT',
  cursorKeyVersion: 'CURSOR_KEY_VERSION',
  jwtIssuer: 'JWT_ISSUER',
  jwtAudience: 'JWT_AUDIENCE',
  jwtJwksUri: 'JWT_JWKS_URI',
  /** Cognito only: which JWT the API accepts ('id'). */
  jwtTokenUse: 'JWT_TOKEN_USE',
  jwtCognitoUserPoolId: 'JWT_COGNITO_USER_POOL_ID',
  jwtClaimAccountId: 'JWT_CLAIM_ACCOUNT_ID',
  jwtClaimRole: 'JWT_CLAIM_ROLE',
  jwtClaimEmail: 'JWT_CLAIM_EMAIL',
  /** Token authorizer: path prefix before the area segment, e.g. `/demo`. */
  authorizerBasePath: 'AUTHORIZER_BASE_PATH',
  /** Token authorizer: a default route→scope map (JSON), used when the API sets no stage variable. */
  authorizerRouteScopes: 'AUTHORIZER_ROUTE_SCOPES',
  /** Notifier and reminder job: the From address of notification emails. */
  notificationSenderAddress: 'NOTIFICATION_SENDER_ADDRESS',
  /** Reminder job: remind owners of tokens that expire within this many days (default 7). */
  reminderWindowDays: 'REMINDER_WINDOW_DAYS',
  /**
   * Notifier and reminder job: SES's maximum send rate to pace to (emails per second); unset =
   * ask SES (GetSendQuota).
   */
  notificationMaxSendRate: 'NOTIFICATION_MAX_SEND_RATE',
  /** Reminder job: the SQS queue of its work (one message per expiry day and page). */
  reminderQueueUrl: 'REMINDER_QUEUE_URL',
  /**
   * Revoke-all: the SQS queue of its jobs' remaining work (lambdas/core/revoke-all-job.ts); unset =
   * the rest runs in the same process after the response (the local stack, which has no queue).
   */
  revokeAllQueueUrl: 'REVOKE_ALL_QUEUE_URL',
  /**
   * Which indexes the functions query: "legacy" only during the first steps of an index upgrade
   * (lambdas/adapters/table-definition.ts, indexLayout); unset = the current ones.
   */
  tableIndexes: 'TABLE_INDEXES',
  /**
   * Notifier and expiry ledger of a multi-Region home stack (docs/regions.md): "true" when the
   * table is a global table, so a REMOVE without userIdentity of an expired token is a TTL deletion
   * replicated from another Region; unset = one Region, where it is an operator's delete.
   */
  globalTable: 'GLOBAL_TABLE',
  /**
   * Usage-key consumer and the token routes that sync usage keys: the name prefix of this
   * deployment's API Gateway usage plans (`<prefix>-<limitClass>`; the stack's name deployed,
   * `access-tokens-local` locally). docs/rate-limits.md.
   */
  usagePlanPrefix: 'USAGE_PLAN_PREFIX',
} as const;

type EnvName = (typeof ENV)[keyof typeof ENV];

export function requireEnv(name: EnvName, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new Error(`Missing required environment variable ${name}`);
  }
  return value;
}

/** A required variable holding JSON (e.g. POLICY_SETTINGS), parsed; not yet checked against any schema. */
export function requireJsonEnv(name: EnvName, env: NodeJS.ProcessEnv = process.env): unknown {
  const value = requireEnv(name, env);
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    throw new Error(`${name} is not valid JSON: ${(error as Error).message}`);
  }
}

export function optionalEnv(name: EnvName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}
