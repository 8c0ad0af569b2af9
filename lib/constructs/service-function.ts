import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { REPO_ROOT, repoPath } from '../paths.js';

/** The Lambda runtime of every function of this stack: the newest Node.js in aws-cdk-lib. */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;
export const FUNCTION_ARCHITECTURE = lambda.Architecture.ARM_64;
/** POWERTOOLS_SERVICE_NAME of every function. */
export const SERVICE_NAME = 'access-tokens';

// esbuild emits ESM (top-level await works, as in the local stack); a CommonJS dependency that calls
// require() on a Node built-in needs a real `require` in scope.
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __atCreateRequire } from 'node:module'; const require = __atCreateRequire(import.meta.url);";

/**
 * Credential sources of the SDK's default chain that a Lambda function never reaches (Lambda puts
 * credentials in the environment, the chain's first link), and the module that stands in for them
 * in bundles that opt out: lambdas/runtime/lambda-credential-sources.ts explains. Relative to the
 * repository root, where esbuild runs.
 */
export const LAMBDA_UNUSED_CREDENTIAL_SOURCES: Readonly<Record<string, string>> = Object.fromEntries(
  [
    '@aws-sdk/credential-provider-sso',
    '@aws-sdk/credential-provider-ini',
    '@aws-sdk/credential-provider-process',
    '@aws-sdk/credential-provider-web-identity',
  ].map((pkg) => [pkg, './lambdas/runtime/lambda-credential-sources.ts']),
);

export interface ServiceFunctionProps {
  /** The handler module, relative to the repository root (it exports `handler`). */
  readonly entry: string;
  readonly description: string;
  /**
   * Environment variables (names from lambdas/runtime/env.ts).
   * @default - only POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL and NODE_OPTIONS (source maps)
   */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * Bundle only the credential sources a Lambda function can use (LAMBDA_UNUSED_CREDENTIAL_SOURCES):
   * about 117 KB less code to load at cold start.
   * @default false
   */
  readonly lambdaCredentialsOnly?: boolean;
}

/**
 * One Lambda function with its own log group and its own IAM role, which starts with nothing but
 * the right to write to that log group (no AWS managed policy); callers grant the rest.
 *
 * Bundling: esbuild (the local installation, never Docker), ESM, minified, with source maps, and
 * with the AWS SDK bundled rather than taken from the runtime, so the deployed code runs exactly the
 * SDK versions package-lock.json pins and the tests ran against.
 */
export class ServiceFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`.slice(0, 1000),
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        // The log group's ARN attribute already ends in `:*` (its log streams).
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new NodejsFunction(this, 'Function', {
      entry: repoPath(props.entry),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: repoPath('package-lock.json'),
      runtime: FUNCTION_RUNTIME,
      architecture: FUNCTION_ARCHITECTURE,
      description: props.description,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        // Stack traces in the logs point at the TypeScript sources (aws-cdk-lib no longer sets this
        // for `sourceMap: true`).
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        bundleAwsSDK: true,
        forceDockerBundling: false,
        ...(props.lambdaCredentialsOnly === true
          ? {
              esbuildArgs: {
                '--alias': Object.entries(LAMBDA_UNUSED_CREDENTIAL_SOURCES).map(
                  ([pkg, to]) => `${pkg}=${to}`,
                ),
              },
            }
          : {}),
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'A function-level DLQ applies to asynchronous invocations only. These functions are invoked synchronously (API Gateway, Lambda authorizers, CloudFormation) or by a stream event source mapping, whose own on-failure SQS destination keeps failed records; the scheduled reminder job has an on-failure destination (test/infra/hardening.test.ts).',
    });
    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaTracing',
      reason:
        'X-Ray is off by choice: it would give every role xray:PutTraceSegments on Resource "*", and each request already logs one JSON line with its request id, outcome and latency (Powertools); API Gateway access logs and alarms cover the rest.',
    });
  }
}
