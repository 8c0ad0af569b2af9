import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { logicalIdOf, type Synthesized, synthesize } from './helpers.js';

// The web console in the full stack (issue #13): its sign-in through the user pool's managed login
// or an OIDC issuer, the management API under the console's origin, config.json, the ConsoleUrl
// output, and consoleEnabled=false.

const OIDC = {
  identityProvider: 'oidc',
  oidcIssuer: 'https://login.example.com/tenant',
  oidcAudience: 'console-client',
  oidcJwksUri: 'https://keys.example.net/jwks.json',
};

let shipped: Synthesized;
let oidc: Synthesized;
let off: Synthesized;

beforeAll(() => {
  shipped = synthesize();
  oidc = synthesize({ context: OIDC });
  off = synthesize({ context: { consoleEnabled: false } });
}, 240_000);

function consoleOf(synth: Synthesized) {
  const hosting = synth.stack.console;
  if (hosting === undefined) throw new Error('no console in this synthesis');
  return hosting;
}

/** `https://<distribution domain>` as the template writes it. */
function consoleUrlOf(synth: Synthesized) {
  return {
    'Fn::Join': [
      '',
      ['https://', { 'Fn::GetAtt': [logicalIdOf(consoleOf(synth).distribution), 'DomainName'] }],
    ],
  };
}

function cspOf(synth: Synthesized): string {
  return JSON.stringify(
    synth.template.toJSON().Resources[logicalIdOf(consoleOf(synth).responseHeadersPolicy)].Properties
      .ResponseHeadersPolicyConfig.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy,
  );
}

describe('cdk.json as shipped (Cognito): the console signs in through the managed login', () => {
  it('outputs ConsoleUrl, the distribution’s https address', () => {
    shipped.template.hasOutput('ConsoleUrl', { Value: consoleUrlOf(shipped) });
  });

  it('the existing app client (same logical id) gets the code flow with PKCE, no secret, no implicit flow, the console’s URLs', () => {
    const client = shipped.stack.identity.userPoolClient;
    if (client === undefined) throw new Error('no client');
    expect(logicalIdOf(client)).toBe('IdentityUserPoolConsoleClient333099BF');
    const props = shipped.template.toJSON().Resources[logicalIdOf(client)].Properties;
    expect(props).toMatchObject({
      GenerateSecret: false,
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: ['openid', 'email', 'profile'],
      SupportedIdentityProviders: ['COGNITO'],
      // SRP sign-in keeps working for the clients that use it.
      ExplicitAuthFlows: expect.arrayContaining(['ALLOW_USER_SRP_AUTH']),
    });
    const [url] =
      JSON.stringify(consoleUrlOf(shipped))
        .match(/^\{"Fn::Join":\["",\[(.*)\]\]\}$/)
        ?.slice(1) ?? [];
    // The console's callback first; then the CLI's loopback ones (test/infra/constructs/identity.test.ts).
    expect(JSON.stringify(props.CallbackURLs[0])).toBe(`{"Fn::Join":["",[${url},"/callback"]]}`);
    expect(JSON.stringify(props.LogoutURLs)).toBe(`[{"Fn::Join":["",[${url},"/"]]}]`);
  });

  it('the user pool has a managed-login (version 2) prefix domain, styled for the client', () => {
    shipped.template.hasResourceProperties('AWS::Cognito::UserPoolDomain', {
      ManagedLoginVersion: 2,
      Domain: { 'Fn::Join': ['', ['accesstokens-', { Ref: 'AWS::AccountId' }]] },
    });
    shipped.template.hasResourceProperties('AWS::Cognito::ManagedLoginBranding', {
      UseCognitoProvidedValues: true,
      ClientId: { Ref: 'IdentityUserPoolConsoleClient333099BF' },
    });
  });

  it('config.json: the management API through the console’s origin, the pool as authority, the client, the scopes, the logout URL', () => {
    const hosting = consoleOf(shipped);
    const config = JSON.stringify(shipped.stack.resolve(hosting.config));
    const poolId = logicalIdOf(shipped.stack.identity.userPool ?? hosting);
    const domainId = logicalIdOf(shipped.stack.identity.managedLoginDomain ?? hosting);
    const distributionDomain = JSON.stringify({
      'Fn::GetAtt': [logicalIdOf(hosting.distribution), 'DomainName'],
    });
    expect(config).toContain(`"apiUrl":{"Fn::Join":["",["https://",${distributionDomain},"/v1"]]}`);
    expect(config).toContain(
      `"authority":{"Fn::Join":["",["https://cognito-idp.",{"Ref":"AWS::Region"},".",{"Ref":"AWS::URLSuffix"},"/",{"Ref":"${poolId}"}]]}`,
    );
    expect(config).toContain('"clientId":{"Ref":"IdentityUserPoolConsoleClient333099BF"}');
    expect(config).toContain('"scope":"openid email profile"');
    expect(config).toContain(
      `"signOutUrl":{"Fn::Join":["",["https://",{"Ref":"${domainId}"},".auth.",{"Ref":"AWS::Region"},".amazoncognito.com/logout?client_id=",{"Ref":"IdentityUserPoolConsoleClient333099BF"},"&logout_uri=https://",${distributionDomain},"/"]]}`,
    );
  });

  it('the pages may connect to their own origin, Cognito’s endpoints and the managed-login domain only', () => {
    const csp = cspOf(shipped);
    const domainId = logicalIdOf(shipped.stack.identity.managedLoginDomain ?? consoleOf(shipped));
    expect(csp).toContain("connect-src 'self' https://cognito-idp.");
    expect(csp).toContain(`{"Ref":"${domainId}"},".auth."`);
    expect(csp).not.toMatch(/connect-src[^;]*\*/);
  });

  it('the management API is served under the console’s origin (no CORS: no OPTIONS methods, no Allow-Origin anywhere)', () => {
    const config =
      shipped.template.toJSON().Resources[logicalIdOf(consoleOf(shipped).distribution)].Properties
        .DistributionConfig;
    expect(config.CacheBehaviors.map((behavior: { PathPattern: unknown }) => behavior.PathPattern)).toEqual([
      '/v1/*',
    ]);
    const apiId = logicalIdOf(shipped.stack.managementApi.api);
    expect(JSON.stringify(config.Origins)).toContain(`{"Ref":"${apiId}"},".execute-api."`);
    shipped.template.resourcePropertiesCountIs('AWS::ApiGateway::Method', { HttpMethod: 'OPTIONS' }, 0);
    expect(JSON.stringify(shipped.template.toJSON())).not.toMatch(/Access-Control-Allow-Origin/i);
  });
});

/** The resources a resource waits for: its DependsOn, and every Ref and GetAtt in its properties. */
function dependenciesOf(resource: { DependsOn?: string | string[]; Properties?: unknown }): Set<string> {
  const found = new Set<string>(resource.DependsOn === undefined ? [] : [resource.DependsOn].flat());
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object' && value !== null) {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'Ref' && typeof inner === 'string') found.add(inner);
        else if (key === 'Fn::GetAtt' && Array.isArray(inner) && typeof inner[0] === 'string')
          found.add(inner[0]);
        else walk(inner);
      }
    }
  };
  walk(resource.Properties);
  return found;
}

describe('the template CloudFormation gets', () => {
  it.each([
    ['Cognito', () => shipped],
    ['OIDC', () => oidc],
  ])('%s: has no circular dependency (client → distribution → API origin, never back)', (_name, synth) => {
    const resources: Record<string, { DependsOn?: string | string[]; Properties?: unknown }> =
      synth().template.toJSON().Resources;
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (id: string, path: string[]): void => {
      if (state.get(id) === 'done' || resources[id] === undefined) return;
      if (state.get(id) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(id)), id].join(' -> '));
        return;
      }
      state.set(id, 'visiting');
      for (const next of dependenciesOf(resources[id])) visit(next, [...path, id]);
      state.set(id, 'done');
    };
    for (const id of Object.keys(resources)) visit(id, []);
    expect(cycles).toEqual([]);
  });
});

describe('identityProvider=oidc: the console signs in at the issuer', () => {
  it('config.json names the issuer and the audience as client id; no user pool, no domain', () => {
    const config = oidc.stack.resolve(consoleOf(oidc).config);
    expect(config.auth).toEqual({
      kind: 'oidc',
      authority: OIDC.oidcIssuer,
      clientId: OIDC.oidcAudience,
      scope: 'openid email profile',
    });
    oidc.template.resourceCountIs('AWS::Cognito::UserPoolDomain', 0);
    oidc.template.hasOutput('ConsoleUrl', { Value: consoleUrlOf(oidc) });
  });

  it('the pages may connect to the issuer’s and the key set’s origins', () => {
    expect(cspOf(oidc)).toContain(
      "connect-src 'self' https://login.example.com https://keys.example.net; style-src",
    );
  });
});

describe('a custom domain (consoleDomainName + consoleCertificateArn)', () => {
  const certificateArn =
    'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';

  it('the distribution answers to it with the certificate (TLS 1.2+), and every URL uses it', () => {
    const custom = synthesize({
      context: { consoleDomainName: 'tokens.example.com', consoleCertificateArn: certificateArn },
    });
    const hosting = consoleOf(custom);
    custom.template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        Aliases: ['tokens.example.com'],
        ViewerCertificate: {
          AcmCertificateArn: certificateArn,
          MinimumProtocolVersion: 'TLSv1.2_2021',
          SslSupportMethod: 'sni-only',
        },
      }),
    });
    custom.template.hasOutput('ConsoleUrl', { Value: 'https://tokens.example.com' });
    custom.template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      CallbackURLs: Match.arrayWith(['https://tokens.example.com/callback']),
      LogoutURLs: ['https://tokens.example.com/'],
    });
    const config = JSON.stringify(custom.stack.resolve(hosting.config));
    expect(config).toContain('"apiUrl":"https://tokens.example.com/v1"');
    expect(config).toContain('&logout_uri=https://tokens.example.com/"');
  });
});

describe('consoleEnabled=false', () => {
  it('synthesizes nothing of the console, and the app client stays without OAuth, as before', () => {
    const { template, stack } = off;
    expect(stack.console).toBeUndefined();
    for (const type of [
      'AWS::S3::Bucket',
      'AWS::CloudFront::Distribution',
      'AWS::CloudFront::ResponseHeadersPolicy',
      'AWS::CloudFront::Function',
      'AWS::CloudFront::OriginAccessControl',
      'Custom::CDKBucketDeployment',
      'AWS::Cognito::UserPoolDomain',
      'AWS::Cognito::ManagedLoginBranding',
    ]) {
      template.resourceCountIs(type, 0);
    }
    expect(Object.keys(template.findOutputs('*'))).not.toContain('ConsoleUrl');
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      AllowedOAuthFlowsUserPoolClient: false,
      CallbackURLs: Match.absent(),
    });
  });
});
