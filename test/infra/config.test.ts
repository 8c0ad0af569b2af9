import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SETTINGS, policySettingsSchema } from '../../lambdas/contract/policy-settings.js';
import {
  CONTEXT_KEYS,
  contextKeysMarkdownTable,
  isCdkContextKey,
  jwksUriOf,
  loadDeploymentConfig,
} from '../../lib/config.js';
import { cdkJsonContext } from './helpers.js';

function problemsOf(context: Record<string, unknown>): string {
  try {
    loadDeploymentConfig(context);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('expected loadDeploymentConfig to throw');
}

describe('loadDeploymentConfig', () => {
  it('reads cdk.json as shipped', () => {
    const config = loadDeploymentConfig(cdkJsonContext());
    expect(config.policy).toEqual(DEFAULT_POLICY_SETTINGS);
    expect(config.identity).toEqual({ kind: 'cognito' });
    expect(config.demoApi).toBe(true);
  });

  it('has documented defaults for everything', () => {
    expect(loadDeploymentConfig({})).toEqual({
      policy: DEFAULT_POLICY_SETTINGS,
      // No sender: a deploy without emails, rather than one whose emails can never be sent.
      senderAddress: undefined,
      sesIdentity: undefined,
      sesIdentityExists: false,
      reminderWindowDays: 7,
      identity: { kind: 'cognito' },
      accountIdClaim: 'custom:account_id',
      roleClaim: 'custom:role',
      emailClaim: 'email',
      demoApi: true,
      consoleEnabled: true,
      consoleDomain: undefined,
      managementThrottle: { rateLimit: 50, burstLimit: 100 },
      logRetentionDays: 365,
      authorizerInvokerAccounts: [],
      apiGatewayCloudWatchRole: 'managed',
    });
  });

  it('reads authorizerInvokerAccounts: 12-digit account ids, each once', () => {
    expect(
      loadDeploymentConfig({ authorizerInvokerAccounts: '["111111111111","222222222222"]' })
        .authorizerInvokerAccounts,
    ).toEqual(['111111111111', '222222222222']);
    expect(problemsOf({ authorizerInvokerAccounts: ['12345'] })).toMatch(
      /authorizerInvokerAccounts\.0: must be a 12-digit AWS account id/,
    );
    expect(problemsOf({ authorizerInvokerAccounts: ['111111111111', '111111111111'] })).toMatch(
      /authorizerInvokerAccounts: must not repeat an account/,
    );
    expect(problemsOf({ authorizerInvokerAccounts: '111111111111' })).toMatch(/authorizerInvokerAccounts/);
  });

  it('documents every policy setting and every key it reads', () => {
    for (const key of Object.keys(policySettingsSchema.shape)) expect(CONTEXT_KEYS).toHaveProperty(key);
    for (const [key, description] of Object.entries(CONTEXT_KEYS)) {
      expect(description.description.length, key).toBeGreaterThan(10);
      expect(contextKeysMarkdownTable()).toContain(`| \`${key}\` |`);
    }
  });

  it('coerces `-c key=value` strings: JSON arrays and objects, numbers, booleans', () => {
    const config = loadDeploymentConfig({
      expiryPresetsDays: '[7, 30]',
      maxLifetimeDays: '30',
      allowNoExpiry: 'true',
      demoApi: 'false',
      revocationWindowSeconds: '0',
      managementThrottle: '{"rateLimit": 5, "burstLimit": 10}',
      tokenTypes: '{"standard": {"description": "Anything."}}',
      logRetentionDays: '90',
    });
    expect(config.policy.expiryPresetsDays).toEqual([7, 30]);
    expect(config.policy.maxLifetimeDays).toBe(30);
    expect(config.policy.allowNoExpiry).toBe(true);
    expect(config.policy.revocationWindowSeconds).toBe(0);
    expect(config.policy.tokenTypes).toEqual({
      standard: {
        description: 'Anything.',
        requireIpAllowlist: false,
        rateLimit: { requestsPerSecond: 50, burst: 100 },
      },
    });
    expect(config.demoApi).toBe(false);
    expect(config.managementThrottle).toEqual({ rateLimit: 5, burstLimit: 10 });
    expect(config.logRetentionDays).toBe(90);
  });

  it('keeps string settings as strings, even when they look like numbers', () => {
    const config = loadDeploymentConfig({
      identityProvider: 'oidc',
      oidcIssuer: 'https://login.example.com/tenant',
      oidcAudience: '1234567890',
    });
    expect(config.identity).toEqual({
      kind: 'oidc',
      issuer: 'https://login.example.com/tenant',
      audience: '1234567890',
    });
  });

  it('defaults the JWKS URI of an OIDC issuer', () => {
    expect(jwksUriOf({ kind: 'oidc', issuer: 'https://id.example.com/', audience: 'a' })).toBe(
      'https://id.example.com/.well-known/jwks.json',
    );
    expect(
      jwksUriOf({
        kind: 'oidc',
        issuer: 'https://id.example.com',
        audience: 'a',
        jwksUri: 'https://k.example.com/keys',
      }),
    ).toBe('https://k.example.com/keys');
  });

  it('rejects a bad token prefix with a readable message', () => {
    expect(problemsOf({ tokenPrefix: 'My_Prefix' })).toBe(
      'Invalid cdk.json context:\n  - tokenPrefix: tokenPrefix must be 2-16 lowercase letters or digits, starting with a letter',
    );
  });

  it('rejects an expiry preset longer than the maximum lifetime', () => {
    expect(problemsOf({ expiryPresetsDays: [7, 365], maxLifetimeDays: 180 })).toContain(
      '  - expiryPresetsDays: preset 365 days exceeds maxLifetimeDays (180)',
    );
  });

  it('rejects unknown keys that look like ours, suggesting the key meant', () => {
    expect(problemsOf({ tokenPrefx: 'atk' })).toContain(
      '  - tokenPrefx: unknown context key (did you mean tokenPrefix?)',
    );
    expect(problemsOf({ colour: 'blue' })).toContain('  - colour: unknown context key');
  });

  it("ignores the CDK's own context keys", () => {
    for (const key of [
      '@aws-cdk/core:newStyleStackSynthesis',
      'aws:cdk:bundling-stacks',
      'aws-cdk:enableDiffNoFail',
      'cli-telemetry',
      'acknowledged-issue-numbers',
      'availability-zones:account=123456789012:region=eu-west-1',
    ]) {
      expect(isCdkContextKey(key), key).toBe(true);
    }
    expect(() => loadDeploymentConfig({ '@aws-cdk/core:foo': true, 'cli-telemetry': false })).not.toThrow();
  });

  it('reads the console settings: on by default, a custom domain only with its us-east-1 certificate', () => {
    const certificateArn =
      'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
    expect(loadDeploymentConfig({ consoleEnabled: 'false' }).consoleEnabled).toBe(false);
    expect(
      loadDeploymentConfig({ consoleDomainName: 'tokens.example.com', consoleCertificateArn: certificateArn })
        .consoleDomain,
    ).toEqual({ domainName: 'tokens.example.com', certificateArn });
    expect(problemsOf({ consoleDomainName: 'tokens.example.com' })).toContain(
      '  - consoleCertificateArn: is required with the other of consoleDomainName and consoleCertificateArn',
    );
    expect(
      problemsOf({
        consoleDomainName: 'tokens.example.com',
        consoleCertificateArn: certificateArn.replace('us-east-1', 'eu-west-1'),
      }),
    ).toMatch(/consoleCertificateArn: must be the ARN of an ACM certificate in us-east-1/);
    expect(
      problemsOf({
        consoleEnabled: false,
        consoleDomainName: 'tokens.example.com',
        consoleCertificateArn: certificateArn,
      }),
    ).toContain('  - consoleDomainName: is only used when consoleEnabled is true');
  });

  it('lists every problem at once', () => {
    const message = problemsOf({
      tokenPrefix: 'X',
      maxLifetimeDays: 'ninety',
      identityProvider: 'oidc',
      logRetentionDays: 10,
      senderAddress: 'not-an-email',
      scopeAreas: '[content',
    });
    expect(message.split('\n')[0]).toBe('Invalid cdk.json context:');
    for (const key of [
      'tokenPrefix',
      'maxLifetimeDays',
      'oidcIssuer',
      'oidcAudience',
      'logRetentionDays',
      'senderAddress',
      'scopeAreas',
    ]) {
      expect(message).toMatch(new RegExp(`\\n  - ${key}: `));
    }
    expect(message).toContain('maxLifetimeDays: expected a number, got "ninety"');
  });

  it('rejects OIDC settings without the OIDC provider, and a plain-http issuer', () => {
    expect(problemsOf({ oidcIssuer: 'https://id.example.com' })).toContain(
      'oidcIssuer: is only used when identityProvider is "oidc"',
    );
    expect(
      problemsOf({ identityProvider: 'oidc', oidcIssuer: 'http://id.example.com', oidcAudience: 'api' }),
    ).toContain('oidcIssuer: must be an https URL');
  });

  it('ships no sender in cdk.json: emails stay off until a deployment names a real one', () => {
    expect(cdkJsonContext()).not.toHaveProperty('senderAddress');
    expect(loadDeploymentConfig(cdkJsonContext()).senderAddress).toBeUndefined();
    expect(loadDeploymentConfig({ senderAddress: 'tokens@yourdomain.com' })).toMatchObject({
      senderAddress: 'tokens@yourdomain.com',
      sesIdentity: 'tokens@yourdomain.com',
    });
  });

  it('refuses SES settings without a sender (they would be ignored)', () => {
    expect(problemsOf({ sesIdentity: 'example.org' })).toContain(
      'sesIdentity: is only used with senderAddress',
    );
    expect(problemsOf({ sesIdentityExists: 'true' })).toContain(
      'sesIdentityExists: is only used with senderAddress',
    );
    expect(() => loadDeploymentConfig({ sesIdentityExists: false })).not.toThrow();
  });

  it('reads apiGatewayCloudWatchRole: managed (default) or existing', () => {
    expect(loadDeploymentConfig({ apiGatewayCloudWatchRole: 'existing' }).apiGatewayCloudWatchRole).toBe(
      'existing',
    );
    expect(problemsOf({ apiGatewayCloudWatchRole: 'none' })).toContain(
      'apiGatewayCloudWatchRole: must be "managed" or "existing"',
    );
  });

  it('checks that the SES identity covers the sender address', () => {
    expect(
      loadDeploymentConfig({ senderAddress: 'tokens@mail.example.com', sesIdentity: 'example.com' })
        .sesIdentity,
    ).toBe('example.com');
    expect(problemsOf({ senderAddress: 'tokens@example.com', sesIdentity: 'example.org' })).toContain(
      'sesIdentity: does not cover senderAddress tokens@example.com',
    );
  });
});
