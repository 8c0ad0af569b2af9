import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AUTHORIZATION_REASONS, type Decision } from '../../../lambdas/core/authorization.js';
import { type MethodArn, parseMethodArn } from '../../../lambdas/core/gateway-policy.js';
import type { CredentialRecord } from '../../../lambdas/core/model.js';
import { type RestAuthorizerResult, restResponse } from '../../../lambdas/token-authorizer/gateway.js';
import { restResponseFor } from '../../../lambdas/token-authorizer/rest-responses.js';
import { credentialRecord, methodArn } from '../../support/authorizer-events.js';

// The REST answers kept per credential (rest-responses.ts) are the answers restResponse builds, for
// every decision, whichever request asked first; kept answers cannot be changed by a caller.

function arn(method: string, path: string, stage = 'test'): MethodArn {
  const parsed = parseMethodArn(methodArn(method, path, 'abcdef123', stage));
  if (parsed === undefined) throw new Error('test ARN does not parse');
  return parsed;
}

function answer(decision: Decision, methodArnOf: MethodArn, basePath: string, memo: boolean) {
  const run = () => (memo ? restResponseFor : restResponse)(decision, methodArnOf, basePath);
  try {
    return { result: run() };
  } catch (error) {
    return { thrown: (error as Error).message };
  }
}

const SCOPES = ['content:read', 'content:write', 'reports:read', 'reports:write', 'not a scope'];

describe('restResponseFor', () => {
  it('equals restResponse for any sequence of decisions over a few shared credentials', () => {
    const credentials = [
      credentialRecord({ tokenId: 'tok_a', scopes: ['content:read'] }),
      credentialRecord({ tokenId: 'tok_b', userId: 'user-2', scopes: ['content:read', 'reports:write'] }),
      credentialRecord({ tokenId: 'tok_c', scopes: [] }),
    ];
    const decisionArb = fc.record({
      reason: fc.constantFrom(...AUTHORIZATION_REASONS),
      credential: fc.option(fc.constantFrom(...credentials), { nil: undefined }),
      area: fc.option(fc.constantFrom('content', 'reports'), { nil: undefined }),
      requiredScope: fc.option(fc.constantFrom(...SCOPES), { nil: undefined }),
      route: fc.option(
        fc.record({
          key: fc.constantFrom('GET /reports/{id}', 'ANY /content/{proxy+}'),
          template: fc.constantFrom('/demo/reports/{id}', '/demo/content/{proxy+}'),
        }),
        { nil: undefined },
      ),
    });
    const requestArb = fc.record({
      method: fc.constantFrom('GET', 'POST', 'DELETE'),
      path: fc.constantFrom('/demo/content/x', '/demo/reports/7', '/other'),
      stage: fc.constantFrom('test', 'prod'),
      basePath: fc.constantFrom('/demo', ''),
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(decisionArb, requestArb), { minLength: 1, maxLength: 30 }), (steps) => {
        for (const [decision, request] of steps) {
          const target = arn(request.method, request.path, request.stage);
          expect(answer(decision, target, request.basePath, true)).toEqual(
            answer(decision, target, request.basePath, false),
          );
        }
      }),
    );
  });

  it('builds the area-rule answer once per credential, API stage and base path, and freezes it', () => {
    const credential = credentialRecord({ scopes: ['content:read'] });
    const decision = (reason: 'VALID' | 'INSUFFICIENT_SCOPE'): Decision => ({
      reason,
      credential,
      area: 'content',
      requiredScope: reason === 'VALID' ? 'content:read' : 'content:write',
      route: undefined,
    });
    const first = restResponseFor(decision('VALID'), arn('GET', '/demo/content/a'), '/demo');
    expect(restResponseFor(decision('INSUFFICIENT_SCOPE'), arn('PUT', '/demo/content/b'), '/demo')).toBe(
      first,
    );
    expect(restResponseFor(decision('VALID'), arn('GET', '/demo/content/a', 'prod'), '/demo')).not.toBe(
      first,
    );
    expect(restResponseFor(decision('VALID'), arn('GET', '/content/a'), '')).not.toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.policyDocument.Statement)).toBe(true);
    const statement = first.policyDocument.Statement[0] as { Resource: string[] };
    expect(() => statement.Resource.push('arn:aws:execute-api:*')).toThrow(TypeError);
    expect(() => {
      (first.context as Record<string, unknown>).scopes = 'everything';
    }).toThrow(TypeError);
  });

  it('a credential read again (new scopes) gets a new answer', () => {
    const before = credentialRecord({ scopes: ['content:read'] });
    const after: CredentialRecord = { ...before, scopes: ['content:read', 'reports:read'] };
    const decide = (credential: CredentialRecord): Decision => ({
      reason: 'VALID',
      credential,
      area: 'content',
      requiredScope: 'content:read',
      route: undefined,
    });
    const target = arn('GET', '/demo/content/a');
    const old: RestAuthorizerResult = restResponseFor(decide(before), target, '/demo');
    const fresh = restResponseFor(decide(after), target, '/demo');
    expect(fresh).toEqual(restResponse(decide(after), target, '/demo'));
    expect(fresh.policyDocument).not.toEqual(old.policyDocument);
  });
});
