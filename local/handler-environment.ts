import type { PolicySettings } from '../lambdas/core/settings.js';
import { ENV } from '../lambdas/runtime/env.js';
import { SDK_REQUEST_TIMEOUT_ENV } from '../lambdas/runtime/sdk-options.js';
import type { DeploymentConfig } from '../lib/config.js';
import { defaultJwksUrlOf } from '../lib/gateway-settings.js';
import { apiGatewayEmulatorUrl } from './api-gateway-emulator.js';
import { DEV_AUDIENCE } from './dev-identity.js';
import { MAX_CONCURRENCY_ENV } from './lambda-runtime.js';

// The environment the handler modules read at load: the union of what the stack sets for each
// function, pointed at the local emulators: the AWS SDK reads AWS_ENDPOINT_URL_<SERVICE> itself, the
// HMAC key comes from a file instead of KMS, and the JWT authorizer trusts the dev identity provider.
// Each function's own share of it is local/function-environments.ts's, which every handler is
// checked against at start.

export const LOCAL_AWS_REGION = 'us-east-1';
/** Invocations that may run at once in the local process (any positive number turns per-invocation log context on). */
const LOCAL_MAX_CONCURRENCY = 64;
/** The usage plans' name prefix locally (deployed: the stack's name), local/usage-plans.ts. */
export const LOCAL_USAGE_PLAN_PREFIX = 'access-tokens-local';
/** The local notifier's From address when cdk.json sets none (a deploy without one has no emails). */
export const LOCAL_SENDER_ADDRESS = 'no-reply@example.com';

interface HandlerEnvironmentInput {
  readonly config: DeploymentConfig;
  /** The policy in force locally (cdk.json's, with the local revocation window). */
  readonly policy: PolicySettings;
  readonly tableName: string;
  readonly hmacKeyFile: string;
  readonly gatewayUrl: string;
  readonly dynamoDbUrl: string;
  readonly sesUrl: string;
}

/** Variables that must not leak in from the developer's shell: they would switch code paths. */
const CLEARED_VARIABLES = [
  ENV.hmacKeyCiphertext,
  ENV.hmacKeyVersion,
  ENV.jwtCognitoUserPoolId,
  ENV.jwtTokenUse,
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
] as const;

export function devIssuerOf(gatewayUrl: string): string {
  return `${gatewayUrl}/_local`;
}

export function handlerEnvironment(input: HandlerEnvironmentInput): Record<string, string> {
  const issuer = devIssuerOf(input.gatewayUrl);
  return {
    AWS_REGION: LOCAL_AWS_REGION,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: input.dynamoDbUrl,
    AWS_ENDPOINT_URL_SES: input.sesUrl,
    // The usage plans' management API, emulated by the local gateway (local/api-gateway-emulator.ts).
    AWS_ENDPOINT_URL_API_GATEWAY: apiGatewayEmulatorUrl(input.gatewayUrl),
    [ENV.usagePlanPrefix]: LOCAL_USAGE_PLAN_PREFIX,
    [ENV.tableName]: input.tableName,
    [ENV.policySettings]: JSON.stringify(input.policy),
    [ENV.hmacKeyFile]: input.hmacKeyFile,
    [ENV.jwtIssuer]: issuer,
    [ENV.jwtJwksUri]: defaultJwksUrlOf(issuer),
    [ENV.jwtAudience]: DEV_AUDIENCE,
    [ENV.jwtClaimAccountId]: input.config.accountIdClaim,
    [ENV.jwtClaimRole]: input.config.roleClaim,
    [ENV.jwtClaimEmail]: input.config.emailClaim,
    // As deployed: the token authorizer's fallback; the demo API names its base path in a stage variable.
    [ENV.authorizerBasePath]: '',
    [ENV.notificationSenderAddress]: input.config.senderAddress ?? LOCAL_SENDER_ADDRESS,
    [ENV.reminderWindowDays]: String(input.config.reminderWindowDays),
    // The SES emulator has no send quota to read; pace as fast as a production account allows.
    [ENV.notificationMaxSendRate]: '50',
    // The emulators on a busy laptop can take seconds per call: a longer per-attempt timeout than
    // deployed (lambdas/runtime/sdk-options.ts).
    [SDK_REQUEST_TIMEOUT_ENV]: '30000',
    // As in vitest.config.ts: the SDK's notice about releases after January 2027 needing Node 22
    // would greet every `npm start`; the lockfile pins today's releases.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // Invocations overlap in this one process: Powertools keeps each one's Lambda context (function
    // name, request id) apart (local/lambda-runtime.ts).
    [MAX_CONCURRENCY_ENV]: String(LOCAL_MAX_CONCURRENCY),
  };
}

/** Sets the variables in `target` (process.env by default) and removes the cleared ones. */
export function applyEnvironment(
  variables: Record<string, string>,
  target: NodeJS.ProcessEnv = process.env,
): void {
  for (const name of CLEARED_VARIABLES) delete target[name];
  Object.assign(target, variables);
}
