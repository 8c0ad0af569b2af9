import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SETTINGS } from '../../../lambdas/contract/policy-settings.js';
import { ENV } from '../../../lambdas/runtime/env.js';
import { loadDeploymentConfig } from '../../../lib/config.js';
import { readCdkContext } from '../../../local/deployment-config.js';
import { applyEnvironment, handlerEnvironment } from '../../../local/handler-environment.js';
import { LocalSettingsError, localSettingsFromEnv } from '../../../local/settings.js';
import { REPOSITORY_ROOT } from '../../../local/stack.js';

describe('local settings', () => {
  it('defaults: ports 4010, 8000, 8005, data in .data, revocation window 0', () => {
    expect(localSettingsFromEnv({}, '/repo')).toEqual({
      gatewayPort: 4010,
      dynamoDbPort: 8000,
      sesPort: 8005,
      dataDir: '/repo/.data',
      revocationWindowSeconds: 0,
      revocationWindowFromEnv: false,
    });
  });

  it('reads the LOCAL_* variables', () => {
    const settings = localSettingsFromEnv(
      {
        LOCAL_GATEWAY_PORT: '5000',
        LOCAL_DYNAMODB_PORT: '5001',
        LOCAL_SES_PORT: '5002',
        LOCAL_DATA_DIR: '/tmp/x',
        LOCAL_REVOCATION_WINDOW_SECONDS: '30',
      },
      '/repo',
    );
    expect(settings).toMatchObject({ gatewayPort: 5000, dataDir: '/tmp/x', revocationWindowSeconds: 30 });
    expect(settings.revocationWindowFromEnv).toBe(true);
  });

  it('LOCAL_CDK_CONTEXT: cdk.json context keys replaced for one run (e.g. token types with small limits)', () => {
    const tokenTypes = { tiny: { description: 'x', rateLimit: { requestsPerSecond: 1, burst: 1 } } };
    const settings = localSettingsFromEnv({ LOCAL_CDK_CONTEXT: JSON.stringify({ tokenTypes }) }, '/repo');
    expect(settings.cdkContext).toEqual({ tokenTypes });
    expect(localSettingsFromEnv({}, '/repo')).not.toHaveProperty('cdkContext');
  });

  it.each([
    [{ LOCAL_CDK_CONTEXT: '{not json' }, /^LOCAL_CDK_CONTEXT must be a JSON object/],
    [{ LOCAL_CDK_CONTEXT: '[1]' }, /^LOCAL_CDK_CONTEXT must be a JSON object/],
    [{ LOCAL_GATEWAY_PORT: 'abc' }, /^LOCAL_GATEWAY_PORT must be an integer/],
    [{ LOCAL_SES_PORT: '70000' }, /^LOCAL_SES_PORT must be/],
    [{ LOCAL_REVOCATION_WINDOW_SECONDS: '-1' }, /^LOCAL_REVOCATION_WINDOW_SECONDS must be/],
    [{ LOCAL_SES_PORT: '4010' }, /^LOCAL_SES_PORT and LOCAL_GATEWAY_PORT are both 4010/],
  ])('refuses %o with one line naming the variable', (env, message) => {
    expect(() => localSettingsFromEnv(env)).toThrow(LocalSettingsError);
    expect(() => localSettingsFromEnv(env)).toThrow(message);
  });
});

describe('the handler environment', () => {
  const config = loadDeploymentConfig(readCdkContext(REPOSITORY_ROOT));
  const variables = handlerEnvironment({
    config,
    policy: { ...DEFAULT_POLICY_SETTINGS, revocationWindowSeconds: 0 },
    tableName: 'access-tokens',
    hmacKeyFile: '/data/hmac.key',
    gatewayUrl: 'http://127.0.0.1:4010',
    dynamoDbUrl: 'http://127.0.0.1:8000',
    sesUrl: 'http://127.0.0.1:8005',
  });

  it('points the SDK at the emulators and the JWT authorizer at the dev identity provider', () => {
    expect(variables).toMatchObject({
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000',
      AWS_ENDPOINT_URL_SES: 'http://127.0.0.1:8005',
      // The usage plans' management API, emulated behind the gateway (local/api-gateway-emulator.ts).
      AWS_ENDPOINT_URL_API_GATEWAY: 'http://127.0.0.1:4010/_aws/apigateway',
      [ENV.usagePlanPrefix]: 'access-tokens-local',
      [ENV.tableName]: 'access-tokens',
      [ENV.hmacKeyFile]: '/data/hmac.key',
      [ENV.jwtIssuer]: 'http://127.0.0.1:4010/_local',
      [ENV.jwtJwksUri]: 'http://127.0.0.1:4010/_local/.well-known/jwks.json',
      [ENV.jwtAudience]: 'access-tokens-local',
      [ENV.jwtClaimAccountId]: config.accountIdClaim,
      [ENV.jwtClaimRole]: config.roleClaim,
      [ENV.jwtClaimEmail]: config.emailClaim,
    });
    expect(JSON.parse(variables[ENV.policySettings] ?? '')).toMatchObject({ revocationWindowSeconds: 0 });
  });

  it('clears variables from the shell that would switch the handlers to KMS or Cognito', () => {
    const target: NodeJS.ProcessEnv = {
      [ENV.jwtCognitoUserPoolId]: 'pool',
      [ENV.hmacKeyCiphertext]: 'x',
      KEEP: '1',
    };
    applyEnvironment(variables, target);
    expect(target[ENV.jwtCognitoUserPoolId]).toBeUndefined();
    expect(target[ENV.hmacKeyCiphertext]).toBeUndefined();
    expect(target.KEEP).toBe('1');
    expect(target[ENV.tableName]).toBe('access-tokens');
  });
});
