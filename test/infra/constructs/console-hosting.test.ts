import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { describe, expect, it } from 'vitest';
import {
  ConsoleHosting,
  consoleAppSource,
  consoleContentSecurityPolicy,
  SPA_FALLBACK_FUNCTION_CODE,
} from '../../../lib/constructs/console-hosting.js';
import { appContext } from '../helpers.js';

// ConsoleHosting in a stack of its own, with a one-method REST API served under its origin and a
// placeholder app (no Vite build in the infra tests).

function consoleStack() {
  const stack = new Stack(new App({ context: appContext() }), 'ConsoleTest');
  const api = new apigateway.RestApi(stack, 'Api', { deployOptions: { stageName: 'v1' } });
  api.root.addResource('tokens').addMethod('GET');
  const hosting = new ConsoleHosting(stack, 'Console', {
    app: s3deploy.Source.data('index.html', '<!doctype html><title>test</title>'),
  });
  hosting.allowConnectTo('https://id.example.com');
  const apiUrl = hosting.serveApi(api, 'v1');
  hosting.publish({
    apiUrl,
    auth: { kind: 'oidc', authority: 'https://id.example.com', clientId: 'console', scope: 'openid' },
  });
  return { stack, api, hosting, apiUrl, template: Template.fromStack(stack) };
}

const { stack, api, hosting, apiUrl, template } = consoleStack();

function resourcesOfType(type: string) {
  return Object.entries(template.findResources(type));
}

function distributionConfig() {
  const [[, distribution] = []] = resourcesOfType('AWS::CloudFront::Distribution');
  return distribution?.Properties.DistributionConfig;
}

function headersPolicyConfig() {
  const [[, policy] = []] = resourcesOfType('AWS::CloudFront::ResponseHeadersPolicy');
  return policy?.Properties.ResponseHeadersPolicyConfig;
}

describe('ConsoleHosting: the bucket', () => {
  const bucketId = stack.resolve(hosting.bucket.bucketName).Ref as string;
  const logBucketId = stack.resolve(hosting.logBucket.bucketName).Ref as string;
  const bucket = template.toJSON().Resources[bucketId];

  it('is private: public access blocked, owner-enforced objects, no website hosting', () => {
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.OwnershipControls).toEqual({
      Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }],
    });
    expect(bucket.Properties.WebsiteConfiguration).toBeUndefined();
  });

  it('is encrypted at rest', () => {
    expect(bucket.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
  });

  it('refuses every request without TLS, and lets only this distribution read it', () => {
    const [[, policy] = []] = resourcesOfType('AWS::S3::BucketPolicy').filter(
      ([, p]) => JSON.stringify(p.Properties.Bucket) === JSON.stringify({ Ref: bucketId }),
    );
    const statements = policy?.Properties.PolicyDocument.Statement ?? [];
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:*',
        Principal: { AWS: '*' },
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    const reads = statements.filter(
      (statement: { Principal?: unknown }) =>
        JSON.stringify(statement.Principal) === JSON.stringify({ Service: 'cloudfront.amazonaws.com' }),
    );
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatchObject({
      Effect: 'Allow',
      Action: 's3:GetObject',
      Condition: {
        StringEquals: {
          'AWS:SourceArn': expect.anything(),
        },
      },
    });
    expect(JSON.stringify(reads[0].Condition)).toContain(
      stack.resolve(hosting.distribution.distributionId).Ref,
    );
  });

  it('logs its access to the log bucket; the log bucket is private, encrypted, TLS-only, and expires logs', () => {
    expect(bucket.Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logBucketId },
      LogFilePrefix: 's3/',
    });
    const logBucket = template.toJSON().Resources[logBucketId];
    expect(logBucket.Properties.PublicAccessBlockConfiguration.BlockPublicPolicy).toBe(true);
    expect(logBucket.Properties.BucketEncryption).toBeDefined();
    expect(logBucket.Properties.LifecycleConfiguration.Rules).toEqual([
      expect.objectContaining({ ExpirationInDays: 365, Status: 'Enabled' }),
    ]);
    const logPolicy = resourcesOfType('AWS::S3::BucketPolicy').find(
      ([, p]) => JSON.stringify(p.Properties.Bucket) === JSON.stringify({ Ref: logBucketId }),
    );
    expect(JSON.stringify(logPolicy)).toContain('aws:SecureTransport');
  });
});

describe('ConsoleHosting: the distribution', () => {
  it('reads the bucket through origin access control (no OAI, no public website)', () => {
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      }),
    });
    template.resourceCountIs('AWS::CloudFront::CloudFrontOriginAccessIdentity', 0);
    const s3Origin = distributionConfig().Origins.find(
      (origin: { S3OriginConfig?: unknown }) => origin.S3OriginConfig !== undefined,
    );
    expect(s3Origin.OriginAccessControlId).toBeDefined();
    expect(s3Origin.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
  });

  it('serves index.html at the root, HTTPS only, and logs to the log bucket', () => {
    const config = distributionConfig();
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(config.Logging).toMatchObject({ Bucket: expect.anything(), Prefix: 'cloudfront/' });
    expect(JSON.stringify(config.Logging.Bucket)).toContain(stack.resolve(hosting.logBucket.bucketName).Ref);
  });

  it('SPA fallback: app paths get /index.html, files pass through; no custom error pages that would swallow API errors', () => {
    const config = distributionConfig();
    expect(config.CustomErrorResponses).toBeUndefined();
    expect(config.DefaultCacheBehavior.FunctionAssociations).toEqual([
      { EventType: 'viewer-request', FunctionARN: expect.anything() },
    ]);
    template.hasResourceProperties('AWS::CloudFront::Function', {
      FunctionCode: SPA_FALLBACK_FUNCTION_CODE,
      FunctionConfig: Match.objectLike({ Runtime: 'cloudfront-js-2.0' }),
    });
    // The function itself, run as CloudFront runs it (the same JavaScript, one `handler`).
    const handler = new Function(`${SPA_FALLBACK_FUNCTION_CODE}; return handler;`)() as (event: {
      request: { uri: string };
    }) => { uri: string };
    const uriFor = (uri: string) => handler({ request: { uri } }).uri;
    expect(uriFor('/')).toBe('/index.html');
    expect(uriFor('/callback')).toBe('/index.html');
    expect(uriFor('/tokens/tok_01HX/')).toBe('/index.html');
    expect(uriFor('/admin/audit')).toBe('/index.html');
    expect(uriFor('/config.json')).toBe('/config.json');
    expect(uriFor('/assets/index-4f3a2b.js')).toBe('/assets/index-4f3a2b.js');
    expect(uriFor('/favicon.svg')).toBe('/favicon.svg');
  });

  it('sends the security headers on every page: strict CSP, HSTS, DENY framing, no referrer, nosniff', () => {
    const { SecurityHeadersConfig: headers } = headersPolicyConfig();
    const csp: string = headers.ContentSecurityPolicy.ContentSecurityPolicy;
    expect(csp).toBe(
      "default-src 'self'; script-src 'self'; connect-src 'self' https://id.example.com; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).not.toMatch(/(^|\s)\*(\s|;|$)/);
    expect(headers.ContentSecurityPolicy.Override).toBe(true);
    expect(headers.StrictTransportSecurity).toEqual({
      AccessControlMaxAgeSec: 730 * 24 * 3600,
      IncludeSubdomains: true,
      Override: true,
    });
    expect(headers.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(headers.ReferrerPolicy).toEqual({ ReferrerPolicy: 'no-referrer', Override: true });
    expect(headers.ContentTypeOptions).toEqual({ Override: true });
    const policyId = resourcesOfType('AWS::CloudFront::ResponseHeadersPolicy')[0]?.[0];
    expect(distributionConfig().DefaultCacheBehavior.ResponseHeadersPolicyId).toEqual({ Ref: policyId });
  });

  it('CSP connect-src: only its own origin plus the origins it was given', () => {
    expect(consoleContentSecurityPolicy([])).toContain("connect-src 'self';");
    expect(consoleContentSecurityPolicy(['https://a.example', 'https://b.example'])).toContain(
      "connect-src 'self' https://a.example https://b.example;",
    );
  });

  it('serves the API stage under its own origin: uncached, every method, viewer headers but Host, TLS 1.2 to the API', () => {
    const config = distributionConfig();
    const behavior = config.CacheBehaviors.find((b: { PathPattern: string }) => b.PathPattern === '/v1/*');
    expect(behavior).toMatchObject({
      ViewerProtocolPolicy: 'https-only',
      AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
      // The managed CachingDisabled and AllViewerExceptHostHeader policies.
      CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
      OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
    });
    const apiOrigin = config.Origins.find((origin: { Id: string }) => origin.Id === behavior.TargetOriginId);
    expect(apiOrigin.CustomOriginConfig).toMatchObject({
      OriginProtocolPolicy: 'https-only',
      OriginSSLProtocols: ['TLSv1.2'],
    });
    expect(apiOrigin.OriginPath).toBeUndefined();
    expect(JSON.stringify(apiOrigin.DomainName)).toContain(stack.resolve(api.restApiId).Ref);
    expect(JSON.stringify(stack.resolve(apiUrl))).toMatch(/"https:\/\/",.*"DomainName".*"\/v1"/);
  });
});

describe('ConsoleHosting: deploying the app and config.json', () => {
  const deployments = resourcesOfType('Custom::CDKBucketDeployment').map(([, d]) => d);

  it('writes config.json at deploy time with no-store, next to index.html, and invalidates both', () => {
    const entry = deployments.find((d) => JSON.stringify(d.Properties.Include ?? []).includes('config.json'));
    expect(entry?.Properties).toMatchObject({
      Include: ['index.html', 'config.json'],
      Exclude: ['*'],
      Prune: false,
      SystemMetadata: { 'cache-control': 'no-store' },
      DistributionPaths: ['/index.html', '/config.json'],
    });
  });

  it('uploads the hashed assets for a year, immutable, kept across deploys, before the entry files', () => {
    const assets = deployments.find((d) => JSON.stringify(d.Properties.Exclude ?? []).includes('index.html'));
    expect(assets?.Properties).toMatchObject({
      Exclude: ['index.html', 'config.json'],
      Prune: false,
      SystemMetadata: { 'cache-control': 'public, max-age=31536000, immutable' },
    });
  });

  it('publishes once', () => {
    expect(() => hosting.publish({ apiUrl: 'https://x', auth: { kind: 'local' } })).toThrow(/once/);
  });
});

describe('consoleAppSource', () => {
  it('with bundling skipped (the infra tests), needs no console/ build and runs none', () => {
    const skipped = new Stack(new App({ context: appContext() }), 'Skipped');
    expect(skipped.bundlingRequired).toBe(false);
    expect(() => consoleAppSource(skipped, '/nonexistent')).not.toThrow();
  });

  it('with bundling on, a repo without console/ fails the synth with a readable error', () => {
    const bundled = new Stack(new App({ context: appContext({}, true) }), 'Bundled');
    expect(() => consoleAppSource(bundled, '/nonexistent')).toThrow(
      /console app is missing.*npm run build:console.*consoleEnabled=false/,
    );
  });
});
