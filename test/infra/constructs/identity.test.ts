import { App, CfnWaitConditionHandle, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../../lambdas/runtime/env.js';
import { ManagementIdentity } from '../../../lib/constructs/identity.js';

// ManagementIdentity in a stack of its own, once per identity provider.

const CLAIMS = { accountId: 'custom:account_id', role: 'custom:role', email: 'email' };

describe('ManagementIdentity construct', () => {
  it('cognito: a user pool without self sign-up, with MFA, retained; the JWT environment names it', () => {
    const stack = new Stack(new App(), 'CognitoIdentity');
    const identity = new ManagementIdentity(stack, 'Identity', {
      identity: { kind: 'cognito' },
      claims: CLAIMS,
    });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::Cognito::UserPool', {
      DeletionPolicy: 'Retain',
      Properties: { AdminCreateUserConfig: { AllowAdminCreateUserOnly: true } },
    });
    template.resourceCountIs('AWS::Cognito::UserPoolClient', 1);
    expect(identity.userPool).toBeDefined();
    expect(identity.jwtEnvironment).toMatchObject({
      [ENV.jwtClaimAccountId]: CLAIMS.accountId,
      [ENV.jwtClaimRole]: CLAIMS.role,
      [ENV.jwtClaimEmail]: CLAIMS.email,
    });
    expect(Object.keys(identity.jwtEnvironment)).toEqual(
      expect.arrayContaining([ENV.jwtCognitoUserPoolId, ENV.jwtAudience, ENV.jwtTokenUse]),
    );
  });

  it('cognito with a console: the app client runs the code flow (PKCE, no secret) to the console, through a managed-login domain', () => {
    const stack = new Stack(new App(), 'CognitoConsole');
    const identity = new ManagementIdentity(stack, 'Identity', {
      identity: { kind: 'cognito' },
      claims: CLAIMS,
      console: { url: 'https://console.example.com', domainPrefix: 'tokens-test' },
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Cognito::UserPoolClient', 1);
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: ['openid', 'email', 'profile'],
      // The console's, then `access-tokens login`'s loopback redirects: Cognito takes plain http
      // only for localhost and matches the port exactly (cli/loopback.ts).
      CallbackURLs: [
        'https://console.example.com/callback',
        'http://localhost:53682/callback',
        'http://localhost:53683/callback',
        'http://localhost:53684/callback',
      ],
      LogoutURLs: ['https://console.example.com/'],
      SupportedIdentityProviders: ['COGNITO'],
      ExplicitAuthFlows: ['ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', {
      Domain: 'tokens-test',
      ManagedLoginVersion: 2,
    });
    template.resourceCountIs('AWS::Cognito::ManagedLoginBranding', 1);
    const auth = stack.resolve(identity.consoleAuth);
    expect(auth).toMatchObject({ kind: 'oidc', scope: 'openid email profile' });
    expect(JSON.stringify(auth.signOutUrl)).toContain('/logout?client_id=');
    expect(JSON.stringify(auth.signOutUrl)).toContain('&logout_uri=https://console.example.com/');
  });

  it('cognito without a console: the app client has no OAuth and the pool no domain, as before', () => {
    const stack = new Stack(new App(), 'CognitoNoConsole');
    const identity = new ManagementIdentity(stack, 'Identity', {
      identity: { kind: 'cognito' },
      claims: CLAIMS,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      AllowedOAuthFlowsUserPoolClient: false,
    });
    template.resourceCountIs('AWS::Cognito::UserPoolDomain', 0);
    expect(identity.consoleAuth).toBeUndefined();
  });

  it("oidc: no user pool; the issuer's JWKS by default", () => {
    const stack = new Stack(new App(), 'OidcIdentity');
    // The stack's other resources: a template without any fails CDK's validation (a warning on stderr).
    new CfnWaitConditionHandle(stack, 'OtherResources');
    const identity = new ManagementIdentity(stack, 'Identity', {
      identity: { kind: 'oidc', issuer: 'https://login.example.com/tenant/', audience: 'api' },
      claims: CLAIMS,
    });
    Template.fromStack(stack).resourceCountIs('AWS::Cognito::UserPool', 0);
    expect(identity.userPool).toBeUndefined();
    expect(identity.jwtEnvironment).toMatchObject({
      [ENV.jwtIssuer]: 'https://login.example.com/tenant/',
      [ENV.jwtAudience]: 'api',
      [ENV.jwtJwksUri]: 'https://login.example.com/tenant/.well-known/jwks.json',
    });
  });
});
