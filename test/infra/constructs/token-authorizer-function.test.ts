import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Construct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SETTINGS } from '../../../lambdas/contract/policy-settings.js';
import { HMAC_KEY_PURPOSE } from '../../../lambdas/core/key-context.js';
import { ENV } from '../../../lambdas/runtime/env.js';
import { HmacKey } from '../../../lib/constructs/hmac-key.js';
import { TokenAuthorizerFunction } from '../../../lib/constructs/token-authorizer-function.js';
import { TokenTable } from '../../../lib/constructs/token-table.js';
import { FUNCTION_ENTRIES } from '../../../lib/function-entries.js';
import { gatewayCacheTtlOf, TokenAuthorizer } from '../../../lib/token-authorizer.js';
import { arnOf, logicalIdOf, ref, statementsOfRole } from '../helpers.js';

// The TokenAuthorizerFunction construct in a minimal stack of its own (the table, the HMAC key and
// the function). Bundling is skipped: the assertions read the template.

const INVOKER = '111122223333';
const POLICY = { ...DEFAULT_POLICY_SETTINGS, revocationWindowSeconds: 40, verificationCacheSeconds: 10 };

interface Built {
  readonly table: TokenTable;
  readonly hmacKey: HmacKey;
  readonly fn: TokenAuthorizerFunction;
  readonly template: Template;
}

function build(invokerAccounts?: readonly string[]): Built {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'TokenAuthorizerFunctionTest');
  const table = new TokenTable(stack, 'TokenTable');
  const hmacKey = new HmacKey(stack, 'HmacKey');
  const fn = new TokenAuthorizerFunction(stack, 'TokenAuthorizer', {
    table,
    hmacKey,
    policy: POLICY,
    ...(invokerAccounts === undefined ? {} : { invokerAccounts }),
  });
  return { table, hmacKey, fn, template: Template.fromStack(stack) };
}

describe('TokenAuthorizerFunction construct', () => {
  let built: Built;
  beforeAll(() => {
    built = build([INVOKER]);
  });

  it('runs the token authorizer entry with 512 MB and the environment verification needs', () => {
    const { template, fn, table, hmacKey } = built;
    const resource = template.findResources('AWS::Lambda::Function')[logicalIdOf(fn.function)];
    expect(resource?.Properties.MemorySize).toBe(512);
    expect(resource?.Properties.Description).toBe(
      'Access Tokens: API Gateway authorizer for API access tokens',
    );
    expect(resource?.Properties.Environment.Variables).toMatchObject({
      [ENV.tableName]: ref(table.table),
      [ENV.policySettings]: JSON.stringify(POLICY),
      [ENV.authorizerBasePath]: '',
      [ENV.hmacKeyVersion]: hmacKey.version,
    });
    expect(resource?.Properties.Environment.Variables[ENV.hmacKeyCiphertext]).toBeDefined();
    expect(FUNCTION_ENTRIES.tokenAuthorizer).toContain('token-authorizer');
  });

  it('may read credential items, record lastUsedAt, count strict-mode rates and decrypt the HMAC key under its context, nothing else', () => {
    const { template, fn, table, hmacKey } = built;
    const statements = statementsOfRole(template, logicalIdOf(fn.role)).filter(
      (statement) => statement.Sid !== 'WriteOwnLogs',
    );
    expect(statements.map((statement) => statement.Action)).toEqual([
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      // The strict mode of HTTP APIs: RATE# counter items only (test/infra/stack.test.ts has the conditions).
      'dynamodb:UpdateItem',
      'kms:Decrypt',
    ]);
    expect(statements[0]?.Resource).toEqual(arnOf(table.table));
    expect(statements[3]).toMatchObject({
      Resource: arnOf(hmacKey.key),
      Condition: { StringEquals: { 'kms:EncryptionContext:purpose': HMAC_KEY_PURPOSE } },
    });
  });

  it('lets API Gateway of each invoker account call it as an authorizer only, and of no other account', () => {
    const { template, fn } = built;
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission'));
    expect(permissions).toHaveLength(1);
    expect(permissions[0]?.Properties).toMatchObject({
      FunctionName: { 'Fn::GetAtt': [logicalIdOf(fn.function), 'Arn'] },
      Principal: 'apigateway.amazonaws.com',
      SourceAccount: INVOKER,
    });
    expect(JSON.stringify(permissions[0]?.Properties.SourceArn)).toContain(`:${INVOKER}:*/authorizers/*`);
    expect(build().template.findResources('AWS::Lambda::Permission')).toEqual({});
  });

  it('declares its settings: a TokenAuthorizer given it takes its cache TTL from the revocation window', () => {
    const { fn } = built;
    const authorizer = new TokenAuthorizer(new Construct(fn, 'Api'), 'Authorizer', { handler: fn.function });
    expect(authorizer.cacheTtl.toSeconds()).toBe(gatewayCacheTtlOf(POLICY).toSeconds());
    expect(authorizer.cacheTtl.toSeconds()).toBe(30);
  });
});
