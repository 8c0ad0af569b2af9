import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { INDEXES } from '../../lambdas/adapters/table-definition.js';
import { MANAGEMENT_ROUTES, type ManagementRouteName, routeNamed } from '../../lambdas/contract/routes.js';
import { CURSOR_KEY_PURPOSE, HMAC_KEY_PURPOSE } from '../../lambdas/core/key-context.js';
import type { AccessTokensStack } from '../../lib/access-tokens-stack.js';
import { DEPLOYED_ROUTES, type RoutePermissions } from '../../lib/function-entries.js';
import { scaled } from '../support/time.js';
import { actionsOf, arnOf, logicalIdOf, ref, statementsOfRole, synthesize } from './helpers.js';

// The management API's newer routes (edit, rotate, revoke all, token access, audit events) as the
// stack builds them from the route table: nested resources, PUT and PATCH, the JWT authorizer, and
// each function's role. Without bundling, so it runs while handlers change.

let stack: AccessTokensStack;
let template: Template;

beforeAll(() => {
  ({ stack, template } = synthesize());
}, scaled(120_000));

const NEW_ROUTES: ReadonlyArray<[ManagementRouteName, string, string]> = [
  ['updateToken', 'PATCH', '/tokens/{id}'],
  ['rotateToken', 'POST', '/tokens/{id}/rotate'],
  ['revokeAllTokens', 'DELETE', '/tokens'],
  ['setUserTokenAccess', 'PUT', '/users/{userId}/token-access'],
  ['getUserTokenAccess', 'GET', '/users/{userId}/token-access'],
  ['listAuditEvents', 'GET', '/audit-events'],
];

describe('management API: the newer routes', () => {
  for (const [name, method, path] of NEW_ROUTES) {
    it(`${method} ${path} (${name}) is a method behind the JWT authorizer, proxied to its own function`, () => {
      expect(routeNamed(name)).toMatchObject({ method, path, auth: 'jwt' });
      const apiMethod = stack.managementApi.methods[name];
      if (apiMethod === undefined) throw new Error(`no method for ${name}`);
      expect(apiMethod.resource.path).toBe(path);
      expect(apiMethod.httpMethod).toBe(method);
      const resource = template.findResources('AWS::ApiGateway::Method')[logicalIdOf(apiMethod)];
      expect(resource?.Properties).toMatchObject({
        HttpMethod: method,
        AuthorizationType: 'CUSTOM',
        AuthorizerId: ref(stack.managementApi.authorizer),
        Integration: { Type: 'AWS_PROXY' },
      });
      expect(JSON.stringify(resource?.Properties.Integration.Uri)).toContain(
        logicalIdOf(stack.managementFunctions.functionOf(name).function),
      );
    });
  }

  it('nests /tokens/{id}/rotate under /tokens/{id}, and {userId} under /users', () => {
    const rotate = stack.managementApi.methods.rotateToken?.resource;
    const tokenById = stack.managementApi.methods.getToken?.resource;
    if (rotate === undefined || tokenById === undefined) throw new Error('no /tokens/{id} methods');
    expect(rotate.parentResource).toBe(tokenById);
    template.hasResourceProperties('AWS::ApiGateway::Resource', {
      PathPart: 'rotate',
      ParentId: ref(tokenById),
    });
    const access = stack.managementApi.methods.setUserTokenAccess?.resource;
    expect(access).toBe(stack.managementApi.methods.getUserTokenAccess?.resource);
    expect(access?.parentResource?.path).toBe('/users/{userId}');
  });

  it('has its own function and role for every route', () => {
    const roles = MANAGEMENT_ROUTES.map((route) =>
      logicalIdOf(stack.managementFunctions.functionOf(route.name).role),
    );
    expect(new Set(roles).size).toBe(MANAGEMENT_ROUTES.length);
  });
});

describe('management functions: least privilege from the route table', () => {
  const tableAndIndexes = () => [
    arnOf(stack.table.table),
    ...Object.values(INDEXES).map((index) => ({
      'Fn::Join': ['', [arnOf(stack.table.table), `/index/${index.indexName}`]],
    })),
  ];

  for (const route of DEPLOYED_ROUTES) {
    it(`${route.name}: exactly what table ${route.permissions.table}, HMAC key ${route.permissions.hmacKey} need`, () => {
      const fn = stack.managementFunctions.functionOf(route.name);
      const statements = statementsOfRole(template, logicalIdOf(fn.role)).filter(
        (statement) => statement.Sid !== 'WriteOwnLogs',
      );
      const expected: unknown[] = [];
      if (route.permissions.table === 'verify') {
        // The token authorizer's two grants (lib/constructs/token-table.ts), nothing more.
        expected.push(
          {
            Effect: 'Allow',
            Action: 'dynamodb:GetItem',
            Resource: arnOf(stack.table.table),
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CREDENTIAL#*'] } },
          },
          {
            Effect: 'Allow',
            Action: 'dynamodb:UpdateItem',
            Resource: arnOf(stack.table.table),
            Condition: {
              'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['TOKEN#*'] },
              'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'sk', 'lastUsedAt'] },
              StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
            },
          },
        );
      } else if (route.permissions.table !== 'none') {
        expected.push({
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:Query'],
          Resource: tableAndIndexes(),
        });
      }
      if (route.permissions.table === 'readWrite') {
        // A transaction is authorized item by item: TransactWriteItems has no IAM action of its own.
        expected.push({
          Effect: 'Allow',
          Action: [
            'dynamodb:PutItem',
            'dynamodb:UpdateItem',
            'dynamodb:DeleteItem',
            'dynamodb:ConditionCheckItem',
          ],
          Resource: arnOf(stack.table.table),
        });
      }
      if (route.permissions.hmacKey) {
        expected.push({
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: arnOf(stack.hmacKey.key),
          Condition: {
            StringEquals: {
              'kms:EncryptionContext:purpose': HMAC_KEY_PURPOSE,
              'kms:EncryptionContext:keyVersion': 'v1',
            },
          },
        });
      }
      if ((route.permissions as RoutePermissions).cursorKey === true) {
        // List cursors: their own key, never the HMAC key.
        expected.push({
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: arnOf(stack.hmacKey.key),
          Condition: {
            StringEquals: {
              'kms:EncryptionContext:purpose': CURSOR_KEY_PURPOSE,
              'kms:EncryptionContext:keyVersion': 'v1',
            },
          },
        });
      }
      const usagePlans = (route.permissions as RoutePermissions).usagePlans;
      if (usagePlans !== undefined) {
        // Usage keys (docs/rate-limits.md): API keys and usage plans of the Region, nothing else.
        expected.push({
          Effect: 'Allow',
          Action:
            usagePlans === 'read'
              ? 'apigateway:GET'
              : ['apigateway:GET', 'apigateway:POST', 'apigateway:DELETE', 'apigateway:PATCH'],
          Resource: ['/apikeys', '/apikeys/*', '/usageplans', '/usageplans/*'].map((path) => ({
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':apigateway:', { Ref: 'AWS::Region' }, `::${path}`],
            ],
          })),
        });
      }
      if (route.name === 'revokeAllTokens') {
        // The rest of a large account's revoke-all goes on the jobs' queue.
        expected.push({
          Effect: 'Allow',
          Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
          Resource: arnOf(stack.revokeAllJobs.queue),
        });
      }
      expect(statements).toEqual(expected);
      expect(actionsOf(statements).some((action) => action.includes('*'))).toBe(false);
    });
  }
});
