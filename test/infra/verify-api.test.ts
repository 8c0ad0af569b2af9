import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { HMAC_KEY_PURPOSE } from '../../lambdas/core/key-context.js';
import { ENV } from '../../lambdas/runtime/env.js';
import type { AccessTokensStack } from '../../lib/access-tokens-stack.js';
import { logicalIdOf } from '../../lib/logical-id.js';
import { arnOf, ref, statementsOfRole, synthesize } from './helpers.js';

// POST /verify as deployed (docs/verify.md): an IAM-authorized method (SigV4, execute-api:Invoke),
// proxied to a function that may do what the token authorizer does to verify and nothing more:
// GetItem of credential items, the lastUsedAt update of token items, kms:Decrypt of the HMAC key
// under its encryption context. No rate counters, no other item, no index, no other key.

let stack: AccessTokensStack;
let template: Template;

beforeAll(() => {
  const synth = synthesize();
  stack = synth.stack;
  template = synth.template;
});

describe('the verify API', () => {
  it('POST /verify has AuthorizationType AWS_IAM and no authorizer, proxied to its own function', () => {
    const method = stack.managementApi.methods.verifyToken;
    if (method === undefined) throw new Error('no verifyToken method');
    expect(method.resource.path).toBe('/verify');
    const [resource] = Object.values(template.findResources('AWS::ApiGateway::Method')).filter(
      (candidate) => JSON.stringify(candidate.Properties.ResourceId) === JSON.stringify(ref(method.resource)),
    );
    expect(resource?.Properties).toMatchObject({ HttpMethod: 'POST', AuthorizationType: 'AWS_IAM' });
    expect(resource?.Properties.AuthorizerId).toBeUndefined();
    const handler = stack.managementFunctions.functionOf('verifyToken').function;
    expect(JSON.stringify(resource?.Properties.Integration.Uri)).toContain(logicalIdOf(handler));
  });

  it('its function: exactly the authorizer’s credential read, the lastUsedAt update and the HMAC key decrypt', () => {
    const fn = stack.managementFunctions.functionOf('verifyToken');
    const table = arnOf(stack.table.table);
    expect(statementsOfRole(template, logicalIdOf(fn.role))).toEqual([
      {
        Sid: 'WriteOwnLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: arnOf(fn.logGroup),
      },
      {
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Resource: table,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CREDENTIAL#*'] } },
      },
      {
        Effect: 'Allow',
        Action: 'dynamodb:UpdateItem',
        Resource: table,
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['TOKEN#*'] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'sk', 'lastUsedAt'] },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
        },
      },
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: arnOf(stack.hmacKey.key),
        Condition: {
          StringEquals: {
            'kms:EncryptionContext:purpose': HMAC_KEY_PURPOSE,
            'kms:EncryptionContext:keyVersion': 'v1',
          },
        },
      },
    ]);
  });

  it('its environment: the table, the HMAC key, the policy; nothing for cursors or usage plans', () => {
    const fn = stack.managementFunctions.functionOf('verifyToken');
    const variables = template.findResources('AWS::Lambda::Function')[logicalIdOf(fn.function)]?.Properties
      .Environment.Variables as Record<string, unknown>;
    expect(variables).toMatchObject({ [ENV.tableName]: ref(stack.table.table), [ENV.hmacKeyVersion]: 'v1' });
    expect(variables).toHaveProperty(ENV.hmacKeyCiphertext);
    expect(variables).toHaveProperty(ENV.policySettings);
    expect(variables).not.toHaveProperty(ENV.cursorKeyCiphertext);
    expect(variables).not.toHaveProperty(ENV.usagePlanPrefix);
  });

  it('a signature that does not verify, or has expired, is a 403 FORBIDDEN in the contract shape', () => {
    const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse')).filter(
      (response) =>
        JSON.stringify(response.Properties.RestApiId) === JSON.stringify(ref(stack.managementApi.api)),
    );
    for (const type of ['INVALID_SIGNATURE', 'EXPIRED_TOKEN']) {
      const response = responses.find((candidate) => candidate.Properties.ResponseType === type);
      expect(response?.Properties.StatusCode, type).toBe('403');
      expect(JSON.parse(response?.Properties.ResponseTemplates['application/json'])).toEqual({
        error: { code: 'FORBIDDEN', message: 'The request signature is invalid or expired' },
      });
    }
  });

  it('outputs the ARN a caller’s IAM policy allows: execute-api:Invoke on POST /verify of the stage', () => {
    const output = template.findOutputs('VerifyApiArn').VerifyApiArn;
    const value = JSON.stringify(output?.Value);
    expect(value).toContain('execute-api');
    expect(value).toContain(logicalIdOf(stack.managementApi.api));
    expect(value).toContain('/v1/POST/verify');
  });
});
