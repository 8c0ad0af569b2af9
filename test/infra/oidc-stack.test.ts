import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lambdas/runtime/env.js';
import type { AccessTokensStack } from '../../lib/access-tokens-stack.js';
import { scaled } from '../support/time.js';
import { logicalIdOf, type Synthesized, synthesize } from './helpers.js';

// A deployment with an existing OIDC issuer, custom claim names, no demo API and `-c`-style string
// context values; synthesized once without bundling (the default test covers bundling).

let synth: Synthesized;
let template: Template;
let stack: AccessTokensStack;

beforeAll(() => {
  synth = synthesize({
    context: {
      identityProvider: 'oidc',
      oidcIssuer: 'https://login.example.com/tenant/',
      oidcAudience: 'access-tokens-api',
      accountIdClaim: 'https://example.com/account',
      roleClaim: 'https://example.com/role',
      demoApi: 'false',
      revocationWindowSeconds: '0',
      managementThrottle: '{"rateLimit": 10, "burstLimit": 20}',
      logRetentionDays: '30',
    },
  });
  template = synth.template;
  stack = synth.stack;
}, scaled(120_000));

function environmentOf(logicalId: string): Record<string, unknown> {
  return template.findResources('AWS::Lambda::Function')[logicalId]?.Properties?.Environment?.Variables ?? {};
}

describe('OIDC deployment', () => {
  it('has no user pool and no user pool outputs', () => {
    template.resourceCountIs('AWS::Cognito::UserPool', 0);
    template.resourceCountIs('AWS::Cognito::UserPoolClient', 0);
    expect(stack.identity.userPool).toBeUndefined();
    expect(Object.keys(template.findOutputs('*'))).not.toContain('UserPoolId');
    expect(Object.keys(template.findOutputs('*'))).not.toContain('UserPoolClientId');
  });

  it('configures the JWT authorizer for the issuer, its default JWKS URI and the configured claims', () => {
    const environment = environmentOf(logicalIdOf(stack.jwtAuthorizer.function));
    expect(environment).toMatchObject({
      [ENV.jwtIssuer]: 'https://login.example.com/tenant/',
      [ENV.jwtAudience]: 'access-tokens-api',
      [ENV.jwtJwksUri]: 'https://login.example.com/tenant/.well-known/jwks.json',
      [ENV.jwtClaimAccountId]: 'https://example.com/account',
      [ENV.jwtClaimRole]: 'https://example.com/role',
      [ENV.jwtClaimEmail]: 'email',
    });
    expect(environment).not.toHaveProperty(ENV.jwtCognitoUserPoolId);
    expect(environment).not.toHaveProperty(ENV.jwtTokenUse);
  });

  it('has no demo API', () => {
    expect(stack.demoApi).toBeUndefined();
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    expect(Object.keys(template.findOutputs('*'))).not.toContain('DemoApiUrl');
    template.hasOutput('ManagementApiUrl', { Value: Match.anyValue() });
    template.hasOutput('TokenAuthorizerFunctionArn', { Value: Match.anyValue() });
    // No sender in cdk.json: emails are off, so no notification queue either.
    expect(Object.keys(template.findOutputs('*')).sort()).toEqual([
      'ConsoleUrl',
      'EmailNotifications',
      'ExpiryLedgerDeadLetterQueueUrl',
      'ManagementApiUrl',
      'TokenAuthorizerCacheTtlSeconds',
      'TokenAuthorizerFunctionArn',
      'UsageKeysDeadLetterQueueUrl',
      'UsageKeysTableName',
      'VerifyApiArn',
    ]);
  });

  it('applies the throttle, the log retention and the policy from string context values', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 })],
    });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    const settings = environmentOf(logicalIdOf(stack.tokenAuthorizer.function))[ENV.policySettings];
    expect(JSON.parse(String(settings))).toMatchObject({ revocationWindowSeconds: 0 });
  });
});
