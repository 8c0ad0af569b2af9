import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureLocalKeyFile } from '../../lambdas/adapters/file-key-source.js';
import { createTableInput, INDEXES, TTL_ATTRIBUTE } from '../../lambdas/adapters/table-definition.js';
import { parsePolicySettings } from '../../lambdas/contract/policy-settings.js';
import { MANAGEMENT_ROUTES } from '../../lambdas/contract/routes.js';
import { CURSOR_KEY_PURPOSE, HMAC_KEY_PURPOSE } from '../../lambdas/core/key-context.js';
import { gatewayCacheTtlSeconds } from '../../lambdas/core/settings.js';
import { generateToken } from '../../lambdas/core/token-format.js';
import { ENV } from '../../lambdas/runtime/env.js';
import type { AccessTokensStack } from '../../lib/access-tokens-stack.js';
import {
  FUNCTION_ARCHITECTURE,
  FUNCTION_RUNTIME,
  ServiceFunction,
} from '../../lib/constructs/service-function.js';
import { TABLE_READ_ACTIONS, TABLE_WRITE_ACTIONS } from '../../lib/constructs/token-table.js';
import { DEPLOYED_ROUTES, FUNCTION_ENTRIES, type RoutePermissions } from '../../lib/function-entries.js';
import { restRequestEvent } from '../support/authorizer-events.js';
import { scaled } from '../support/time.js';
import {
  actionsOf,
  arnOf,
  logicalIdOf,
  type PolicyStatement,
  ref,
  type Synthesized,
  statementsOfRole,
  synthesize,
  WITH_EMAILS,
} from './helpers.js';

// The full deployment (cdk.json as shipped: Cognito, demo API on; plus a sender, as the README's
// deploy command passes it, so emails are on), synthesized once without bundling (shared with the
// other files that read it); the bundling test bundles one function of its own, with the same
// ServiceFunction construct every function uses. (`npm test` ends with a real `cdk synth`, which
// bundles them all.) test/infra/deploy-readiness.test.ts covers cdk.json alone (no sender: no emails).

let synth: Synthesized;
let template: Template;
let stack: AccessTokensStack;

beforeAll(() => {
  synth = synthesize({ context: WITH_EMAILS });
  template = synth.template;
  stack = synth.stack;
}, scaled(240_000));

const ENCRYPTION_CONTEXT_CONDITION = {
  StringEquals: {
    'kms:EncryptionContext:purpose': HMAC_KEY_PURPOSE,
    'kms:EncryptionContext:keyVersion': 'v1',
  },
};
const CURSOR_CONTEXT_CONDITION = {
  StringEquals: {
    'kms:EncryptionContext:purpose': CURSOR_KEY_PURPOSE,
    'kms:EncryptionContext:keyVersion': 'v1',
  },
};
const ACCOUNT_ROOT = {
  AWS: {
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']],
  },
};

function ourFunctions(): Array<[string, ServiceFunction]> {
  const { notifications } = stack;
  if (notifications === undefined) throw new Error('emails are off');
  const functions: Array<[string, ServiceFunction]> = [...stack.managementFunctions.byRoute.entries()];
  functions.push(['tokenAuthorizer', stack.tokenAuthorizer], ['jwtAuthorizer', stack.jwtAuthorizer]);
  functions.push(['hmacKeyResource', stack.hmacKey.resourceFunction]);
  functions.push(
    ['notifier', notifications.notifier],
    ['reminderJob', notifications.reminderJob],
    ['expiryLedger', stack.expiryLedger.ledger],
    ['revokeAllWorker', stack.revokeAllJobs.worker],
    ['usageKeys', stack.usagePlans.consumer.function],
  );
  return functions;
}

function environmentOf(fn: ServiceFunction): Record<string, unknown> {
  const resource = template.findResources('AWS::Lambda::Function')[logicalIdOf(fn.function)];
  return resource?.Properties?.Environment?.Variables ?? {};
}

function logStatement(fn: ServiceFunction): PolicyStatement {
  return {
    Sid: 'WriteOwnLogs',
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: arnOf(fn.logGroup),
  };
}

describe('token table', () => {
  it('is on-demand, with point-in-time recovery, deletion protection, stream and TTL, and retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      }),
    });
  });

  it('has the keys and GSIs of the one table definition (lambdas/adapters/table-definition.ts)', () => {
    const definition = createTableInput('unused');
    const table = Object.values(template.findResources('AWS::DynamoDB::Table'))[0]?.Properties;
    expect(table.KeySchema).toEqual(definition.KeySchema);
    expect(table.GlobalSecondaryIndexes).toEqual(
      definition.GlobalSecondaryIndexes?.map((index) => ({
        IndexName: index.IndexName,
        KeySchema: index.KeySchema,
        Projection: index.Projection,
      })),
    );
    expect(new Set(table.AttributeDefinitions)).toEqual(new Set(definition.AttributeDefinitions));
    expect(table.GlobalSecondaryIndexes).toHaveLength(Object.keys(INDEXES).length);
  });
});

describe('HMAC key', () => {
  it('is a KMS key with rotation, kept on update and delete but not after a failed create, with the same logical ids', () => {
    // Fails before the fix: DeletionPolicy Retain, which orphaned the key of a failed first deploy.
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({ EnableKeyRotation: true }),
    });
    // Stateful: a new logical id would be a new key (or ciphertext) and break every issued token.
    expect(logicalIdOf(stack.hmacKey.key)).toBe('HmacKey9C6F4D76');
    expect(logicalIdOf(stack.hmacKey.resource)).toBe('HmacKeyCiphertext505480D6');
  });

  it('has a key policy: CDK’s default root statement, and each use named for its roles only, never kms:* to a function', () => {
    const key = Object.values(template.findResources('AWS::KMS::Key'))[0];
    const statements: Array<Record<string, unknown>> = key?.Properties.KeyPolicy.Statement ?? [];
    const role = (fn: ServiceFunction) => arnOf(fn.role);
    const routeRole = (name: string) => role(stack.managementFunctions.functionOf(name));
    const use = (sid: string, action: string, context: object, roles: unknown[]) => ({
      Sid: sid,
      Effect: 'Allow',
      Principal: ACCOUNT_ROOT,
      Action: action,
      Resource: '*',
      Condition: { ...context, ArnEquals: { 'aws:PrincipalArn': roles } },
    });
    // Fails before the fix: the key policy named no use at all (only the root's kms:*).
    expect(statements).toEqual([
      { Effect: 'Allow', Principal: ACCOUNT_ROOT, Action: 'kms:*', Resource: '*' },
      use('GenerateHmacKeyCiphertext', 'kms:GenerateDataKeyWithoutPlaintext', ENCRYPTION_CONTEXT_CONDITION, [
        role(stack.hmacKey.resourceFunction),
      ]),
      use('GenerateCursorKeyCiphertext', 'kms:GenerateDataKeyWithoutPlaintext', CURSOR_CONTEXT_CONDITION, [
        role(stack.hmacKey.resourceFunction),
      ]),
      use(
        'DecryptHmacKey',
        'kms:Decrypt',
        ENCRYPTION_CONTEXT_CONDITION,
        expect.arrayContaining([
          routeRole('createToken'),
          routeRole('rotateToken'),
          routeRole('reportLeaks'),
          routeRole('reportLeak'),
          routeRole('verifyToken'),
          role(stack.tokenAuthorizer),
        ]),
      ),
      use(
        'DecryptCursorKey',
        'kms:Decrypt',
        CURSOR_CONTEXT_CONDITION,
        expect.arrayContaining([routeRole('listTokens'), routeRole('listAuditEvents')]),
      ),
    ]);
    const named = (sid: string) => {
      const condition = statements.find((statement) => statement.Sid === sid)?.Condition as
        | { ArnEquals: Record<string, unknown[]> }
        | undefined;
      return condition?.ArnEquals['aws:PrincipalArn'];
    };
    // The leak routes (docs/leaks.md) and the verify API (docs/verify.md) look a secret up by its HMAC.
    expect(named('DecryptHmacKey')).toHaveLength(6);
    expect(named('DecryptCursorKey')).toHaveLength(2);
    // No role of ours has any KMS action beyond these, in its own policy either.
    for (const [name, fn] of ourFunctions()) {
      const kmsActions = actionsOf(statementsOfRole(template, logicalIdOf(fn.role))).filter((action) =>
        action.startsWith('kms:'),
      );
      for (const action of kmsActions) {
        expect(['kms:Decrypt', 'kms:GenerateDataKeyWithoutPlaintext'], name).toContain(action);
      }
    }
  });

  it("is made by our own Provider-backed custom resource (not AwsCustomResource), from the key's ARN and version", () => {
    const framework = stack.hmacKey.provider.node.findChild('framework-onEvent');
    // The HMAC key and the list-cursor key.
    template.resourceCountIs('Custom::HmacKeyCiphertext', 2);
    template.resourceCountIs('Custom::AWS', 0);
    // Exactly these: nothing that changes between deployments (an asset hash, a timestamp) may make
    // CloudFormation send an Update. The HMAC key's resource has no KeyPurpose (as before it existed).
    template.hasResourceProperties(
      'Custom::HmacKeyCiphertext',
      Match.objectEquals({
        ServiceToken: arnOf(framework),
        KeyId: arnOf(stack.hmacKey.key),
        KeyVersion: 'v1',
      }),
    );
    template.hasResourceProperties(
      'Custom::HmacKeyCiphertext',
      Match.objectEquals({
        ServiceToken: arnOf(framework),
        KeyId: arnOf(stack.hmacKey.key),
        KeyVersion: 'v1',
        KeyPurpose: CURSOR_KEY_PURPOSE,
      }),
    );
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'framework.onEvent',
      Environment: {
        Variables: { USER_ON_EVENT_FUNCTION_ARN: arnOf(stack.hmacKey.resourceFunction.function) },
      },
    });
  });

  it('lets its handler only GenerateDataKeyWithoutPlaintext on that key, under each key’s encryption context', () => {
    const fn = stack.hmacKey.resourceFunction;
    expect(statementsOfRole(template, logicalIdOf(fn.role))).toEqual([
      logStatement(fn),
      {
        Sid: 'GenerateHmacKeyCiphertext',
        Effect: 'Allow',
        Action: 'kms:GenerateDataKeyWithoutPlaintext',
        Resource: arnOf(stack.hmacKey.key),
        Condition: ENCRYPTION_CONTEXT_CONDITION,
      },
      {
        Sid: 'GenerateCursorKeyCiphertext',
        Effect: 'Allow',
        Action: 'kms:GenerateDataKeyWithoutPlaintext',
        Resource: arnOf(stack.hmacKey.key),
        Condition: CURSOR_CONTEXT_CONDITION,
      },
    ]);
  });

  it('hands the ciphertext attribute to the functions that hash secrets', () => {
    const ciphertext = { 'Fn::GetAtt': [logicalIdOf(stack.hmacKey.resource), 'Ciphertext'] };
    for (const fn of [stack.tokenAuthorizer, stack.managementFunctions.functionOf('createToken')]) {
      expect(environmentOf(fn)).toMatchObject({
        [ENV.hmacKeyCiphertext]: ciphertext,
        [ENV.hmacKeyVersion]: 'v1',
      });
    }
  });
});

describe('functions', () => {
  it('run on the newest Node.js runtime aws-cdk-lib knows, on arm64', () => {
    const newest = lambda.Runtime.ALL.filter((runtime) => runtime.family === lambda.RuntimeFamily.NODEJS)
      .map((runtime) => runtime.name)
      .filter((name) => /^nodejs\d+\.x$/.test(name))
      .sort((a, b) => Number.parseInt(a.slice(6), 10) - Number.parseInt(b.slice(6), 10))
      .at(-1);
    expect(FUNCTION_RUNTIME.name).toBe(newest);
    for (const [name, fn] of ourFunctions()) {
      const resource = template.findResources('AWS::Lambda::Function')[logicalIdOf(fn.function)];
      expect(resource?.Properties.Runtime, name).toBe(FUNCTION_RUNTIME.name);
      expect(resource?.Properties.Architectures, name).toEqual([FUNCTION_ARCHITECTURE.name]);
      expect(resource?.Properties.Handler, name).toBe('index.handler');
      expect(resource?.Properties.LoggingConfig, name).toEqual({ LogGroup: ref(fn.logGroup) });
    }
  });

  it('exist once per route, plus the two authorizers, the demo handler and the key resource handler', () => {
    // + 1: the CDK Provider framework's own function.
    // + 5: the notifier, the reminder job, the expiry ledger, the revoke-all worker and the usage-key consumer.
    // + 1: the console's deployment function (aws-cdk-lib's BucketDeployment, one for both uploads).
    template.resourceCountIs('AWS::Lambda::Function', MANAGEMENT_ROUTES.length + 4 + 1 + 5 + 1);
  });

  it('are bundled by esbuild as minified ESM with source maps and the AWS SDK inside', () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'access-tokens-cdk-')) });
    const bundled = new ServiceFunction(new Stack(app, 'Bundled'), 'ResourceHandler', {
      entry: FUNCTION_ENTRIES.hmacKeyResource,
      description: 'the key resource handler, bundled as every function is',
    });
    const assemblyDir = app.synth().directory;
    const fn = Template.fromStack(Stack.of(bundled)).findResources('AWS::Lambda::Function')[
      logicalIdOf(bundled.function)
    ];
    const s3Key: unknown = fn?.Properties.Code.S3Key;
    expect(s3Key).toMatch(/^[0-9a-f]{64}\.zip$/);
    const code = `asset.${String(s3Key).replace(/\.zip$/, '')}`;
    const bundle = readFileSync(join(assemblyDir, code, 'index.mjs'), 'utf8');
    expect(existsSync(join(assemblyDir, code, 'index.mjs.map'))).toBe(true);
    expect(bundle.startsWith('import { createRequire')).toBe(true);
    expect(bundle).toContain('GenerateDataKeyWithoutPlaintext');
    expect(bundle).not.toMatch(/from\s*["']@aws-sdk\//);
    // Minified: local names are gone; the source map leads back to the TypeScript.
    expect(bundle).not.toContain('createHmacKeyResourceHandler');
    const sourceMap = JSON.parse(readFileSync(join(assemblyDir, code, 'index.mjs.map'), 'utf8'));
    expect(sourceMap.sources).toEqual(
      expect.arrayContaining([expect.stringMatching(/lambdas\/hmac-key-resource\/resource\.ts$/)]),
    );
    // Node loads it as an ES module (the createRequire banner included) and finds the handler.
    const load = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(pathToFileURL(join(assemblyDir, code, 'index.mjs')).href)}); process.stdout.write(typeof m.handler);`,
      ],
      { encoding: 'utf8', env: { ...process.env, AWS_REGION: 'eu-west-1', POWERTOOLS_LOG_LEVEL: 'SILENT' } },
    );
    expect(load.stderr).not.toMatch(/Error/);
    expect(load.stdout).toBe('function');
  });

  it('the token authorizer is bundled without the credential sources Lambda never has, and signs with the environment credentials', () => {
    // Bundled on its own, with the stack's options (the shared synth skips bundling).
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'access-tokens-cdk-')) });
    const bundled = new ServiceFunction(new Stack(app, 'BundledAuthorizer'), 'TokenAuthorizer', {
      entry: FUNCTION_ENTRIES.tokenAuthorizer,
      description: 'the token authorizer, bundled as the stack bundles it',
      lambdaCredentialsOnly: true,
    });
    const assemblyDir = app.synth().directory;
    const fn = Template.fromStack(Stack.of(bundled)).findResources('AWS::Lambda::Function')[
      logicalIdOf(bundled.function)
    ];
    const code = `asset.${String(fn?.Properties.Code.S3Key).replace(/\.zip$/, '')}`;
    const bundleFile = join(assemblyDir, code, 'index.mjs');
    const bundle = readFileSync(bundleFile, 'utf8');
    expect(bundle).toContain('credentials are not bundled in this Lambda function');
    // The STS and SSO clients and the SSO session reader that only those sources use.
    for (const absent of ['AssumeRoleWithWebIdentity', 'GetRoleCredentials', 'sso_start_url']) {
      expect(bundle).not.toContain(absent);
    }
    // A verification through the bundle: its one GetItem is signed with AWS_ACCESS_KEY_ID, the way
    // Lambda hands a function its credentials; the fake table knows no token, so it is a 401.
    const dir = mkdtempSync(join(tmpdir(), 'atk-bundle-'));
    try {
      const keyFile = join(dir, 'hmac.key');
      ensureLocalKeyFile(keyFile);
      const event = restRequestEvent({ authorization: `Bearer ${generateToken('atk').secret}` });
      const script = `
        import { createServer } from 'node:http';
        const seen = [];
        const server = createServer((req, res) => {
          seen.push(req.headers.authorization ?? '');
          req.resume();
          req.on('end', () => { res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }); res.end('{}'); });
        });
        await new Promise((listening) => server.listen(0, '127.0.0.1', listening));
        process.env.AWS_ENDPOINT_URL_DYNAMODB = 'http://127.0.0.1:' + server.address().port;
        const { handler } = await import(${JSON.stringify(pathToFileURL(bundleFile).href)});
        let outcome = 'allowed';
        try { await handler(${JSON.stringify(event)}, { awsRequestId: 'r-1', functionName: 'authorizer' }); }
        catch (error) { outcome = error.message; }
        server.close();
        process.stdout.write(JSON.stringify({ outcome, seen }));`;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          PATH: process.env.PATH,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          AWS_REGION: 'eu-west-1',
          AWS_ACCESS_KEY_ID: 'AKIDBUNDLETEST',
          AWS_SECRET_ACCESS_KEY: 'bundle-test-secret',
          [ENV.tableName]: 'bundle-test',
          [ENV.policySettings]: JSON.stringify(parsePolicySettings({})),
          [ENV.hmacKeyFile]: keyFile,
          POWERTOOLS_LOG_LEVEL: 'SILENT',
        },
      });
      expect(run.stderr).toBe('');
      const result = JSON.parse(run.stdout) as { outcome: string; seen: string[] };
      expect(result.outcome).toBe('Unauthorized');
      expect(result.seen).toHaveLength(1);
      expect(result.seen[0]).toContain('Credential=AKIDBUNDLETEST/');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('are configured only through the shared env var names', () => {
    const allowed = new Set<string>([
      ...Object.values(ENV),
      'POWERTOOLS_SERVICE_NAME',
      'POWERTOOLS_LOG_LEVEL',
      'NODE_OPTIONS',
    ]);
    for (const [name, fn] of ourFunctions()) {
      for (const variable of Object.keys(environmentOf(fn)))
        expect(allowed.has(variable), `${name}: ${variable}`).toBe(true);
      expect(environmentOf(fn), name).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'access-tokens',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
      });
    }
  });

  it('get the parsed policy as POLICY_SETTINGS', () => {
    for (const fn of [stack.tokenAuthorizer, ...stack.managementFunctions.byRoute.values()]) {
      const settings = environmentOf(fn)[ENV.policySettings];
      expect(typeof settings).toBe('string');
      expect(parsePolicySettings(JSON.parse(String(settings)))).toEqual(synth.config.policy);
    }
  });

  it('each have their own role without AWS managed policies', () => {
    const roles = ourFunctions().map(([, fn]) => logicalIdOf(fn.role));
    expect(new Set(roles).size).toBe(roles.length);
    const lambdaRoles = Object.values(template.findResources('AWS::IAM::Role')).filter((role) =>
      JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes('lambda.amazonaws.com'),
    );
    // + demo function, Provider framework and the console's deployment function.
    expect(lambdaRoles.length).toBe(ourFunctions().length + 3);
    for (const role of lambdaRoles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('log to their own log group, kept for the configured retention', () => {
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  it('management routes time out after 10 s, GitHub leak reports (up to 2,000 matches) after 28 s', () => {
    const timeoutOf = (route: string) =>
      template.findResources('AWS::Lambda::Function')[
        logicalIdOf(stack.managementFunctions.functionOf(route).function)
      ]?.Properties?.Timeout;
    expect(timeoutOf('reportLeaks')).toBe(28);
    expect(timeoutOf('reportLeak')).toBe(10);
    expect(timeoutOf('createToken')).toBe(10);
  });
});

describe('least privilege', () => {
  it('token authorizer: exactly GetItem of credential items, the lastUsedAt update, the rate counters and Decrypt under the encryption context', () => {
    const fn = stack.tokenAuthorizer;
    expect(statementsOfRole(template, logicalIdOf(fn.role))).toEqual([
      logStatement(fn),
      {
        // Credential items only (fails before the fix: any item of the table).
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Resource: arnOf(stack.table.table),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CREDENTIAL#*'] } },
      },
      {
        // Token items only, naming no attribute but the key and lastUsedAt, returning nothing.
        Effect: 'Allow',
        Action: 'dynamodb:UpdateItem',
        Resource: arnOf(stack.table.table),
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['TOKEN#*'] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'sk', 'lastUsedAt'] },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
        },
      },
      {
        // Strict-mode rate counters of HTTP APIs only: RATE# items, their count, entity and ttl.
        Effect: 'Allow',
        Action: 'dynamodb:UpdateItem',
        Resource: arnOf(stack.table.table),
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['RATE#*'] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'sk', 'count', 'entity', 'ttl'] },
          StringEquals: { 'dynamodb:ReturnValues': 'UPDATED_NEW' },
        },
      },
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: arnOf(stack.hmacKey.key),
        Condition: ENCRYPTION_CONTEXT_CONDITION,
      },
    ]);
  });

  it('token authorizer: its environment', () => {
    expect(environmentOf(stack.tokenAuthorizer)).toMatchObject({
      [ENV.tableName]: ref(stack.table.table),
      [ENV.authorizerBasePath]: '',
      [ENV.hmacKeyVersion]: 'v1',
    });
  });

  it("JWT authorizer: GetItem of users' access items only (the admin switch), no key", () => {
    const fn = stack.jwtAuthorizer;
    expect(statementsOfRole(template, logicalIdOf(fn.role))).toEqual([
      logStatement(fn),
      {
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Resource: arnOf(stack.table.table),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ACCESS#*'] } },
      },
    ]);
    expect(environmentOf(fn)[ENV.tableName]).toEqual(ref(stack.table.table));
  });

  it('only the functions that hash secrets may decrypt the HMAC key; only the list handlers the cursor key', () => {
    const decryptersOf = (condition: object) =>
      ourFunctions()
        .filter(([, fn]) =>
          statementsOfRole(template, logicalIdOf(fn.role)).some(
            (statement) =>
              actionsOf([statement]).includes('kms:Decrypt') &&
              JSON.stringify(statement.Condition) === JSON.stringify(condition),
          ),
        )
        .map(([name]) => name)
        .sort();
    // Fails before the fix: listTokens and listAuditEvents decrypted the HMAC key to sign cursors.
    expect(decryptersOf(ENCRYPTION_CONTEXT_CONDITION)).toEqual([
      'createToken',
      'reportLeak',
      'reportLeaks',
      'rotateToken',
      'tokenAuthorizer',
      'verifyToken',
    ]);
    expect(decryptersOf(CURSOR_CONTEXT_CONDITION)).toEqual(['listAuditEvents', 'listTokens']);
  });

  for (const route of DEPLOYED_ROUTES) {
    const cursorKey = (route.permissions as RoutePermissions).cursorKey === true;
    it(`${route.name}: table ${route.permissions.table}, HMAC key ${route.permissions.hmacKey}, cursor key ${cursorKey}`, () => {
      const fn = stack.managementFunctions.functionOf(route.name);
      const statements = statementsOfRole(template, logicalIdOf(fn.role));
      const actions = actionsOf(statements);
      const writes: readonly string[] = TABLE_WRITE_ACTIONS;
      const reads: readonly string[] = TABLE_READ_ACTIONS;
      const tableArn = arnOf(stack.table.table);

      expect(
        actions.filter(
          (action) => action.startsWith('dynamodb:') && !writes.includes(action) && !reads.includes(action),
        ),
      ).toEqual([]);
      expect(actions.some((action) => action.includes('*'))).toBe(false);
      if (route.permissions.table === 'none') {
        expect(actions.filter((action) => action.startsWith('dynamodb:'))).toEqual([]);
        expect(environmentOf(fn)).not.toHaveProperty(ENV.tableName);
      } else if (route.permissions.table === 'verify') {
        // The token authorizer's two grants, asserted in full in test/infra/verify-api.test.ts.
        expect(environmentOf(fn)[ENV.tableName]).toEqual(ref(stack.table.table));
        expect(actions.filter((action) => action.startsWith('dynamodb:')).sort()).toEqual([
          'dynamodb:GetItem',
          'dynamodb:UpdateItem',
        ]);
      } else {
        expect(environmentOf(fn)[ENV.tableName]).toEqual(ref(stack.table.table));
        expect(statements).toContainEqual({
          Effect: 'Allow',
          Action: [...TABLE_READ_ACTIONS],
          Resource: [
            tableArn,
            ...Object.values(INDEXES).map((index) => ({
              'Fn::Join': ['', [tableArn, `/index/${index.indexName}`]],
            })),
          ],
        });
      }
      if (route.permissions.table === 'readWrite') {
        expect(statements).toContainEqual({
          Effect: 'Allow',
          Action: [...TABLE_WRITE_ACTIONS],
          Resource: tableArn,
        });
      } else if (route.permissions.table !== 'verify') {
        // A read route cannot write.
        expect(actions.filter((action) => writes.includes(action))).toEqual([]);
      }
      const kmsStatements = statements.filter((statement) =>
        actionsOf([statement]).some((a) => a.startsWith('kms:')),
      );
      const decrypt = (condition: object) => ({
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: arnOf(stack.hmacKey.key),
        Condition: condition,
      });
      // Fails before the fix for listTokens and listAuditEvents: they decrypted the HMAC key.
      expect(kmsStatements).toEqual([
        ...(route.permissions.hmacKey ? [decrypt(ENCRYPTION_CONTEXT_CONDITION)] : []),
        ...(cursorKey ? [decrypt(CURSOR_CONTEXT_CONDITION)] : []),
      ]);
      if (!route.permissions.hmacKey) expect(environmentOf(fn)).not.toHaveProperty(ENV.hmacKeyCiphertext);
      if (cursorKey) {
        expect(environmentOf(fn)).toMatchObject({
          [ENV.cursorKeyCiphertext]: {
            'Fn::GetAtt': [logicalIdOf(stack.hmacKey.cursorResource), 'Ciphertext'],
          },
          [ENV.cursorKeyVersion]: 'v1',
        });
      } else {
        expect(environmentOf(fn)).not.toHaveProperty(ENV.cursorKeyCiphertext);
      }
    });
  }
});

describe('identity (Cognito)', () => {
  it('is a user pool where only admins create users, with strong passwords, required MFA and the custom attributes', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'ON',
      Policies: {
        PasswordPolicy: Match.objectLike({
          MinimumLength: 14,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        }),
      },
      Schema: Match.arrayWith([
        Match.objectLike({ Name: 'account_id', Mutable: true }),
        Match.objectLike({ Name: 'role', Mutable: true }),
      ]),
    });
  });

  it('has a client that cannot write custom:account_id or custom:role (no self-promotion to admin)', () => {
    const client = Object.values(template.findResources('AWS::Cognito::UserPoolClient'))[0]?.Properties;
    expect(client.WriteAttributes.length).toBeGreaterThan(0);
    expect(client.WriteAttributes).not.toContain('custom:account_id');
    expect(client.WriteAttributes).not.toContain('custom:role');
    expect(client.WriteAttributes).not.toContain('email');
    expect(client.ReadAttributes).toEqual(
      expect.arrayContaining(['custom:account_id', 'custom:role', 'email']),
    );
    expect(client.ExplicitAuthFlows).toContain('ALLOW_USER_SRP_AUTH');
    expect(client.ExplicitAuthFlows).not.toContain('ALLOW_USER_PASSWORD_AUTH');
    expect(client.GenerateSecret).toBe(false);
  });

  it("configures the JWT authorizer for the pool's ID tokens", () => {
    const pool = stack.identity.userPool;
    const client = stack.identity.userPoolClient;
    if (pool === undefined || client === undefined) throw new Error('no user pool');
    expect(environmentOf(stack.jwtAuthorizer)).toEqual(
      expect.objectContaining({
        [ENV.jwtCognitoUserPoolId]: ref(pool),
        [ENV.jwtAudience]: ref(client),
        [ENV.jwtTokenUse]: 'id',
        [ENV.jwtClaimAccountId]: 'custom:account_id',
        [ENV.jwtClaimRole]: 'custom:role',
        [ENV.jwtClaimEmail]: 'email',
      }),
    );
    expect(environmentOf(stack.jwtAuthorizer)).not.toHaveProperty(ENV.jwtIssuer);
  });
});

describe('management API', () => {
  const managementApi = () => stack.managementApi;

  it('is a regional REST API', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Name: 'AccessTokens-management',
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
  });

  it('throttles, logs access as JSON, logs execution errors without data tracing, and traces with X-Ray', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      RestApiId: ref(managementApi().api),
      TracingEnabled: true,
      AccessLogSetting: {
        // The log group's ARN as API Gateway stores it, without `:*` (feature flag
        // logGroupDestinationArnWithoutWildcard in cdk.json): no drift on every run.
        DestinationArn: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':logs:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':log-group:',
              ref(managementApi().accessLogGroup),
            ],
          ],
        },
        Format: Match.anyValue(),
      },
      MethodSettings: [
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          DataTraceEnabled: false,
          LoggingLevel: 'ERROR',
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 100,
        }),
      ],
    });
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage')).find(
      (resource) =>
        JSON.stringify(resource.Properties.RestApiId) === JSON.stringify(ref(managementApi().api)),
    );
    const format: unknown = JSON.parse(stage?.Properties.AccessLogSetting.Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
  });

  it('has a JWT REQUEST authorizer on the Authorization header, cached 60 s', () => {
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      RestApiId: ref(managementApi().api),
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerResultTtlInSeconds: 60,
      AuthorizerUri: Match.objectLike({
        'Fn::Join': ['', Match.arrayWith([arnOf(stack.jwtAuthorizer.function)])],
      }),
    });
  });

  for (const route of MANAGEMENT_ROUTES) {
    const authorization = { jwt: 'CUSTOM', iam: 'AWS_IAM', public: 'NONE' }[route.auth];
    it(`${route.method} ${route.path}: ${authorization}, proxied to its function`, () => {
      const method = managementApi().methods[route.name];
      if (method === undefined) throw new Error(`no method for ${route.name}`);
      expect(method.resource.path).toBe(route.path);
      const handler = stack.managementFunctions.functionOf(route.name).function;
      template.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: route.method,
        ResourceId: ref(method.resource),
        AuthorizationType: authorization,
        AuthorizerId: route.auth === 'jwt' ? ref(managementApi().authorizer) : Match.absent(),
        Integration: Match.objectLike({
          Type: 'AWS_PROXY',
          IntegrationHttpMethod: 'POST',
          Uri: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([arnOf(handler)])] }),
        }),
      });
    });
  }

  it('has one method per route and nothing else', () => {
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')).filter(
      (method) => JSON.stringify(method.Properties.RestApiId) === JSON.stringify(ref(managementApi().api)),
    );
    expect(methods).toHaveLength(MANAGEMENT_ROUTES.length);
  });

  it("answers its own errors in the contract's JSON error shape", () => {
    const expected: Array<[string, string | undefined, string]> = [
      ['UNAUTHORIZED', '401', 'UNAUTHORIZED'],
      ['ACCESS_DENIED', '403', 'FORBIDDEN'],
      ['THROTTLED', '429', 'RATE_LIMITED'],
      ['REQUEST_TOO_LARGE', '413', 'PAYLOAD_TOO_LARGE'],
      ['MISSING_AUTHENTICATION_TOKEN', '404', 'NOT_FOUND'],
      ['DEFAULT_4XX', undefined, 'VALIDATION_FAILED'],
      ['DEFAULT_5XX', undefined, 'INTERNAL'],
    ];
    for (const [type, status, code] of expected) {
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        RestApiId: ref(managementApi().api),
        ResponseType: type,
        StatusCode: status ?? Match.absent(),
        ResponseParameters: { 'gatewayresponse.header.Content-Type': "'application/json'" },
        ResponseTemplates: {
          'application/json': Match.stringLikeRegexp(`^\\{"error":\\{"code":"${code}","message":`),
        },
      });
    }
    const fixed = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse'))
      .map((response) => response.Properties.ResponseTemplates['application/json'])
      .filter((body: string) => !body.includes('$context'));
    for (const body of fixed)
      expect(JSON.parse(body)).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
  });

  it('lets API Gateway invoke each route function from its own method only', () => {
    for (const route of MANAGEMENT_ROUTES) {
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        FunctionName: arnOf(stack.managementFunctions.functionOf(route.name).function),
        SourceArn: Match.objectLike({
          'Fn::Join': ['', Match.arrayWith([`/${route.method}${route.path.replace(/\{[^}]+\}/g, '*')}`])],
        }),
      });
    }
  });

  it('writes execution logs through one account-level CloudWatch role, created before the stages', () => {
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
    template.hasResource('AWS::ApiGateway::Account', { DeletionPolicy: 'Retain' });
    const accountId = Object.keys(template.findResources('AWS::ApiGateway::Account'))[0];
    for (const stage of Object.values(template.findResources('AWS::ApiGateway::Stage'))) {
      expect(stage.DependsOn).toContain(accountId);
    }
  });
});

describe('demo API', () => {
  const demoApi = () => {
    if (stack.demoApi === undefined) throw new Error('no demo API');
    return stack.demoApi;
  };

  it('routes ANY /demo/{area} and ANY /demo/{area}/{proxy+} to the demo function through the token authorizer', () => {
    for (const path of ['/demo/{area}', '/demo/{area}/{proxy+}']) {
      const resource = demoApi().api.root.resourceForPath(path);
      template.hasResourceProperties('AWS::ApiGateway::Method', {
        RestApiId: ref(demoApi().api),
        ResourceId: ref(resource),
        HttpMethod: 'ANY',
        AuthorizationType: 'CUSTOM',
        AuthorizerId: ref(demoApi().authorizer),
        Integration: Match.objectLike({ Type: 'AWS_PROXY' }),
      });
    }
  });

  it('caches the token authorizer per token and source IP, for what the in-process cache leaves of the revocation window', () => {
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      RestApiId: ref(demoApi().api),
      Type: 'REQUEST',
      IdentitySource:
        'method.request.header.Authorization,context.identity.sourceIp,context.httpMethod,context.path',
      AuthorizerResultTtlInSeconds: gatewayCacheTtlSeconds(synth.config.policy),
      AuthorizerUri: Match.objectLike({
        'Fn::Join': ['', Match.arrayWith([arnOf(stack.tokenAuthorizer.function)])],
      }),
    });
  });

  it('names its base path in the stage variable the shared authorizer reads', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      RestApiId: ref(demoApi().api),
      Variables: { accessTokensBasePath: '/demo' },
      TracingEnabled: true,
      MethodSettings: [Match.objectLike({ DataTraceEnabled: false, LoggingLevel: 'ERROR' })],
    });
  });

  it('lets API Gateway invoke the token authorizer', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      FunctionName: arnOf(stack.tokenAuthorizer.function),
      SourceArn: Match.objectLike({
        'Fn::Join': ['', Match.arrayWith([ref(demoApi().api), Match.stringLikeRegexp('/authorizers/')])],
      }),
    });
  });
});

describe('notifications', () => {
  it('the table stream feeds the notifier with partial batch responses, bisect, bounded retries and an SQS DLQ', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: Match.anyValue(),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: Match.anyValue(),
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    const mapping = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'))[0];
    expect(mapping?.Properties.MaximumRetryAttempts).toBeGreaterThan(0);
    expect(mapping?.Properties.MaximumRetryAttempts).toBeLessThanOrEqual(10);
  });

  it('alarms on the dead-letter queue and runs the reminder job daily', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: Match.stringLikeRegexp('^cron\\('),
    });
  });
});

describe('outputs', () => {
  it('give the management API URL, the token authorizer ARN and cache TTL, the user pool, the demo API URL, the two DLQs and the email setup', () => {
    template.hasOutput('ManagementApiUrl', { Value: Match.anyValue() });
    template.hasOutput('TokenAuthorizerFunctionArn', { Value: arnOf(stack.tokenAuthorizer.function) });
    template.hasOutput('TokenAuthorizerCacheTtlSeconds', { Value: '50' });
    template.hasOutput('UserPoolId', { Value: Match.objectLike({ Ref: Match.anyValue() }) });
    template.hasOutput('UserPoolClientId', { Value: Match.objectLike({ Ref: Match.anyValue() }) });
    template.hasOutput('DemoApiUrl', { Value: Match.anyValue() });
    expect(Object.keys(template.findOutputs('*')).sort()).toEqual(
      [
        'ConsoleUrl',
        'DemoApiUrl',
        'EmailNotifications',
        'ExpiryLedgerDeadLetterQueueUrl',
        'ManagementApiUrl',
        'NotificationDeadLetterQueueUrl',
        'SesDkimRecord1',
        'SesDkimRecord2',
        'SesDkimRecord3',
        'TokenAuthorizerCacheTtlSeconds',
        'TokenAuthorizerFunctionArn',
        'UsageKeysDeadLetterQueueUrl',
        'UsageKeysTableName',
        'UserPoolClientId',
        'UserPoolId',
        'VerifyApiArn',
      ].sort(),
    );
  });
});
