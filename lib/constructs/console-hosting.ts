import { execFileSync } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { AssetHashType, Aws, DockerImage, Duration, Lazy, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { logicalIdOf } from '../logical-id.js';
import { nagAccountOf, nagRegionOf } from '../nag-names.js';
import { REPO_ROOT } from '../paths.js';

/**
 * What the console reads from `/config.json` at start (the contract with console/: it fetches the
 * file from its own origin before anything else).
 */
export interface ConsoleConfigFile {
  /** Base URL of the management API, without a trailing slash. */
  readonly apiUrl: string;
  readonly auth:
    | { readonly kind: 'local' }
    | {
        readonly kind: 'oidc';
        /** The issuer: discovery at `<authority>/.well-known/openid-configuration`. */
        readonly authority: string;
        readonly clientId: string;
        readonly scope?: string;
        /** Where "Sign out" sends the browser (the IdP's logout endpoint), if it has one. */
        readonly signOutUrl?: string;
      };
}

/** The path the identity provider redirects back to after sign-in (authorization code + PKCE). */
export const CONSOLE_CALLBACK_PATH = '/callback';

/** The Content-Security-Policy of the console's pages, for the origins it may connect to besides its own. */
export function consoleContentSecurityPolicy(connectOrigins: readonly string[]): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    ['connect-src', "'self'", ...connectOrigins].join(' '),
    "style-src 'self'",
    "img-src 'self' data:",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

/**
 * The SPA fallback, on viewer requests to the app's behaviour: a path whose last segment has no
 * extension (`/tokens/abc`) is a page of the app, served by `/index.html`; files (`/assets/x.js`,
 * `/config.json`) pass through. A function rather than CloudFront custom error responses: those
 * apply to every behaviour, and would turn the management API's own 403 and 404 (same origin, see
 * {@link ConsoleHosting.serveApi}) into a 200 with the app's HTML.
 */
export const SPA_FALLBACK_FUNCTION_CODE = `function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri.lastIndexOf('.') <= uri.lastIndexOf('/')) {
    request.uri = '/index.html';
  }
  return request;
}`;

/** Hashed build output (`assets/...`): never changes under its name. */
const IMMUTABLE = [
  s3deploy.CacheControl.setPublic(),
  s3deploy.CacheControl.maxAge(Duration.days(365)),
  s3deploy.CacheControl.immutable(),
];
/** `index.html` and `config.json`: read again on every load, so a redeploy is seen at once. */
const NO_STORE = [s3deploy.CacheControl.noStore()];

interface ConsoleHostingProps {
  /**
   * The built app (index.html + hashed assets).
   * @default {@link consoleAppSource}: `npm run build:console` at synth, `console/dist/`
   */
  readonly app?: s3deploy.ISource;
  /**
   * Alternate domain names (a custom domain in front of the console); with `certificate`.
   * @default - the distribution's own `*.cloudfront.net` name
   */
  readonly domainNames?: readonly string[];
  /** An ACM certificate in us-east-1 covering `domainNames`. */
  readonly certificate?: acm.ICertificate;
  /** Days the access logs (S3 and CloudFront) are kept. @default 365 */
  readonly logRetentionDays?: number;
  /** Retention of the deployment function's log group. @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The web console's hosting: a private S3 bucket (encrypted, TLS only, public access blocked,
 * access logs to a bucket of their own) behind a CloudFront distribution with origin access control,
 * `index.html` as the default root object and the SPA fallback ({@link SPA_FALLBACK_FUNCTION_CODE}),
 * and a response-headers policy on every page: strict CSP without inline script, HSTS,
 * `X-Frame-Options: DENY` and `frame-ancestors 'none'`, no referrer, nosniff.
 *
 * The management API is served by the same distribution under its stage path ({@link serveApi}):
 * same origin, so the API needs no CORS. CORS would have to be added to every Lambda proxy response
 * (API Gateway cannot add headers to those), and each call with an Authorization header would cost
 * the browser a preflight. README "Console" explains the trade-off (the API then sees CloudFront's
 * address as the caller's for calls made through the console).
 *
 * `config.json` is written at deploy time ({@link publish}), next to the app, with `no-store`.
 */
export class ConsoleHosting extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly logBucket: s3.Bucket;
  public readonly distribution: cloudfront.Distribution;
  public readonly responseHeadersPolicy: cloudfront.ResponseHeadersPolicy;
  public readonly spaFallback: cloudfront.Function;
  /** `https://<domain>`, without a trailing slash: the first alternate domain name, else the distribution's. */
  public readonly url: string;
  private readonly app: s3deploy.ISource;
  private readonly connectOrigins: string[] = [];
  private readonly logRetention: logs.RetentionDays;
  /** What {@link publish} writes to `config.json` (tokens resolved at deploy time). */
  public config: ConsoleConfigFile | undefined;

  constructor(scope: Construct, id: string, props: ConsoleHostingProps = {}) {
    super(scope, id);
    const logRetentionDays = props.logRetentionDays ?? 365;
    this.logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    this.app = props.app ?? consoleAppSource(this);

    // CloudFront standard logs are written with ACLs: the log bucket keeps them enabled (object writer).
    this.logBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ expiration: Duration.days(logRetentionDays) }],
    });
    Validations.of(this.logBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This is the access-log bucket of the console bucket and distribution; logging its own access would log into itself without end.',
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 's3/',
    });

    this.responseHeadersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Access Tokens console: CSP, HSTS, no framing, no referrer, nosniff',
      securityHeadersBehavior: {
        // connect-src: the console's own origin (its files and the management API, same origin) and
        // the identity provider's, added by allowConnectTo() before synth.
        contentSecurityPolicy: {
          contentSecurityPolicy: Lazy.string({
            produce: () => consoleContentSecurityPolicy(this.connectOrigins),
          }),
          override: true,
        },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(730),
          includeSubdomains: true,
          override: true,
        },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        contentTypeOptions: { override: true },
      },
    });

    this.spaFallback = new cloudfront.Function(this, 'SpaFallback', {
      comment: 'Access Tokens console: app paths are served by /index.html',
      code: cloudfront.FunctionCode.fromInline(SPA_FALLBACK_FUNCTION_CODE),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
    });

    const customDomain =
      props.domainNames !== undefined && props.domainNames.length > 0 && props.certificate !== undefined
        ? {
            domainNames: [...props.domainNames],
            certificate: props.certificate,
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : undefined;
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Access Tokens console',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.responseHeadersPolicy,
        compress: true,
        functionAssociations: [
          { function: this.spaFallback, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST },
        ],
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/',
      ...(customDomain ?? {}),
    });
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason:
          'The console is for the people who own API tokens, wherever they are; sign-in (MFA) and the API authorizer decide who gets in, not the country.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'No WAF web ACL by default (billed per ACL, rule and request, and tuned per deployment); the distribution serves static files and the management API, whose stage is throttled and authenticated. An operator can associate a web ACL.',
      },
      ...(customDomain === undefined
        ? [
            {
              id: 'AwsSolutions-CFR4',
              reason:
                'Without a custom domain the distribution uses CloudFront\'s default *.cloudfront.net certificate, whose security policy CloudFront fixes (TLSv1); with a custom domain (README "Console") TLSv1.2_2021 applies.',
            },
          ]
        : []),
    );
    this.url = `https://${customDomain?.domainNames[0] ?? this.distribution.distributionDomainName}`;
  }

  /** Lets the console's pages connect to an origin besides their own (CSP connect-src), e.g. the IdP's. */
  public allowConnectTo(origin: string): void {
    if (!this.connectOrigins.includes(origin)) this.connectOrigins.push(origin);
  }

  /**
   * Serves a REST API's stage from the console's origin: `<console>/<stage>/...` goes to the API's
   * `/<stage>/...`, uncached, every method, every viewer header but Host (the Authorization header
   * included: with caching disabled CloudFront forwards it). Returns the API's base URL as the
   * console reaches it (`<console url>/<stage>`).
   *
   * The origin is the API's execute-api domain built from its id, and the stage name is given as
   * plain text, not read from the stage (`api.url`, `deploymentStage.stageName`): the stage depends
   * on the API's methods and their authorizer, and so (through the user pool client whose callback
   * is the console URL) on this distribution, a cycle.
   */
  public serveApi(api: apigateway.IRestApi, stageName: string): string {
    if (Token.isUnresolved(stageName)) throw new Error('serveApi needs the stage name as plain text');
    const domain = `${api.restApiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`;
    this.distribution.addBehavior(
      `/${stageName}/*`,
      new origins.HttpOrigin(domain, {
        protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
        originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
      }),
      {
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        compress: true,
      },
    );
    return `${this.url}/${stageName}`;
  }

  /**
   * Uploads the app and writes `config.json` next to it, at deploy time. Hashed assets first, kept
   * across deploys (a tab opened before a deploy still loads its chunks) and cached for a year;
   * then `index.html` and `config.json` with `no-store`, and the distribution's copies invalidated.
   */
  public publish(config: ConsoleConfigFile): void {
    if (this.config !== undefined) throw new Error('ConsoleHosting.publish() is called once');
    this.config = config;
    const logGroup = new logs.LogGroup(this, 'DeploymentLogs', { retention: this.logRetention });
    // The deployment function's role: its log group, no AWS managed policy; BucketDeployment adds
    // reading its sources, writing this bucket and invalidating the distribution.
    const role = new iam.Role(this, 'DeploymentRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Access Tokens console: uploads the app and config.json at deploy time (execution role)',
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        // The log group's ARN attribute already ends in `:*` (its log streams).
        resources: [logGroup.logGroupArn],
      }),
    );
    const assets = new s3deploy.BucketDeployment(this, 'DeployAssets', {
      sources: [this.app],
      destinationBucket: this.bucket,
      exclude: ['index.html', 'config.json'],
      prune: false,
      cacheControl: IMMUTABLE,
      logGroup,
      role,
      memoryLimit: 512,
    });
    const entry = new s3deploy.BucketDeployment(this, 'DeployEntry', {
      sources: [this.app, s3deploy.Source.jsonData('config.json', config)],
      destinationBucket: this.bucket,
      exclude: ['*'],
      include: ['index.html', 'config.json'],
      prune: false,
      cacheControl: NO_STORE,
      distribution: this.distribution,
      distributionPaths: ['/index.html', '/config.json'],
      logGroup,
      role,
      memoryLimit: 512,
    });
    entry.node.addDependency(assets);
    acknowledgeDeploymentFindings(role, this.bucket, entry);
  }
}

/**
 * What cdk-nag finds in aws-cdk-lib's BucketDeployment (its grants and its one shared function),
 * each acknowledged with the reason it stands.
 */
function acknowledgeDeploymentFindings(
  role: iam.Role,
  bucket: s3.Bucket,
  deployment: s3deploy.BucketDeployment,
): void {
  const bucketId = logicalIdOf(bucket);
  const roleFindings: ReadonlyArray<readonly [string, string]> = [
    [
      'AwsSolutions-IAM5[Action::s3:GetObject*]',
      "BucketDeployment's grants: reading the CDK asset objects it copies from and the console bucket's objects it compares with (s3:GetObject* on those buckets' objects only).",
    ],
    [
      'AwsSolutions-IAM5[Action::s3:GetBucket*]',
      "BucketDeployment's grants: the bucket metadata `aws s3 sync` reads, on the CDK asset bucket and the console bucket only.",
    ],
    [
      'AwsSolutions-IAM5[Action::s3:List*]',
      "BucketDeployment's grants: `aws s3 sync` lists the source and the console bucket to compare them; on those two buckets only.",
    ],
    [
      'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
      "BucketDeployment's grant on the console bucket's objects (the app's files); prune is off, so it deletes nothing, but aws-cdk-lib grants read-write as one.",
    ],
    [
      'AwsSolutions-IAM5[Action::s3:Abort*]',
      "BucketDeployment's grant on the console bucket's objects: aborting its own multipart uploads of large files.",
    ],
    [
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-${nagAccountOf(Stack.of(role))}-${nagRegionOf(Stack.of(role))}/*]`,
      'The CDK bootstrap asset bucket holds the uploaded app as an object whose key is its hash; BucketDeployment reads it from there (objects of that one bucket).',
    ],
    [
      `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`,
      'The console bucket exists only for the app: every object in it is a file of the app this function uploads.',
    ],
    [
      'AwsSolutions-IAM5[Resource::*]',
      "cloudfront:CreateInvalidation and GetInvalidation, which aws-cdk-lib's BucketDeployment grants on `*`: it invalidates this distribution's index.html and config.json after an upload.",
    ],
  ];
  for (const [id, reason] of roleFindings) Validations.of(role).acknowledge({ id, reason });

  // The function is a singleton at stack level (one per memory size and role), not under the deployment.
  const stack = Stack.of(deployment);
  const handlers = stack.node.children.filter((child) =>
    child.node.id.startsWith('Custom::CDKBucketDeployment'),
  );
  for (const handler of handlers) {
    // On the function resource itself (cdk-nag reports it there), not the stack-level wrapper.
    const resource = handler.node.defaultChild ?? handler;
    for (const [id, reason] of [
      [
        'AwsSolutions-L1',
        "aws-cdk-lib's BucketDeployment pins its handler's runtime (Python, with the AWS CLI layer); it runs only during deployments, never on a request path.",
      ],
      [
        'Serverless-LambdaDLQ',
        'Invoked synchronously by CloudFormation for the console deployment; a failure fails the deployment, which is the signal, so there is nothing for a DLQ to keep.',
      ],
      [
        'Serverless-LambdaTracing',
        'Runs only during deployments, to copy the app into its bucket; CloudFormation events and its log group say what happened, tracing adds nothing.',
      ],
      [
        'Serverless-LambdaDefaultMemorySize',
        'aws-cdk-lib sizes the BucketDeployment handler; 512 MB is set here for the AWS CLI sync of a few hundred kilobytes.',
      ],
      [
        'Serverless-LambdaLatestVersion',
        "aws-cdk-lib's BucketDeployment pins its handler's runtime, with the AWS CLI layer built for it.",
      ],
    ] as const) {
      Validations.of(resource).acknowledge({ id, reason });
    }
  }
}

/**
 * The console app as a deployment source: `console/`, built at synth by `npm run build:console`
 * (Vite, into `console/dist/`), whose output is the asset. Built locally, not in Docker: the build
 * needs the repo's own node_modules (the console's dependencies are the repo's). Hashed by its
 * output, so a change anywhere the build reads (the OpenAPI contract included) is a new asset.
 *
 * When CDK skips bundling (`aws:cdk:bundling-stacks`, as the infra tests set it) no build runs and
 * a placeholder page stands in: the asset of a skipped bundle is not deployable anyway.
 */
export function consoleAppSource(scope: Construct, repoRoot: string = REPO_ROOT): s3deploy.ISource {
  if (!Stack.of(scope).bundlingRequired) {
    return s3deploy.Source.data('index.html', '<!doctype html><title>bundling skipped</title>');
  }
  const consoleDir = join(repoRoot, 'console');
  if (!existsSync(consoleDir)) {
    throw new Error(
      `The console app is missing (${consoleDir}): it is built from console/ with \`npm run build:console\`. Deploy with -c consoleEnabled=false to leave the console out.`,
    );
  }
  return s3deploy.Source.asset(consoleDir, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Local bundling always answers (it throws on failure): the image is never used.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:20'),
      local: {
        tryBundle(outputDir: string): boolean {
          try {
            execFileSync('npm', ['run', '--silent', 'build:console'], {
              cwd: repoRoot,
              stdio: ['ignore', 'inherit', 'inherit'],
            });
          } catch (error) {
            throw new Error(
              `\`npm run build:console\` failed, so the console cannot be deployed: ${error instanceof Error ? error.message : String(error)}`,
            );
          }
          const dist = join(consoleDir, 'dist');
          if (!existsSync(join(dist, 'index.html'))) {
            throw new Error(`\`npm run build:console\` wrote no ${join(dist, 'index.html')}`);
          }
          cpSync(dist, outputDir, { recursive: true });
          return true;
        },
      },
    },
  });
}

/** The origin (`https://host`) of an https URL, as CSP names sources. */
export function originOf(url: string): string {
  return new URL(url).origin;
}
