import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowedResources, allowPolicy, denyAllPolicy } from '../../../lambdas/core/gateway-policy.js';
import {
  AuthorizerConfigurationError,
  type AuthorizerStatement,
  evaluatePolicy,
  readAuthorizerOutput,
} from '../../../local/policy-evaluation.js';
import { matchesWildcard } from '../../../local/wildcard.js';

const STAGE = 'arn:aws:execute-api:local:000000000000:demo/local';
const arn = (method: string, path: string) => `${STAGE}/${method}${path}`;

const allow = (...resources: string[]): AuthorizerStatement => ({
  effect: 'Allow',
  actions: ['execute-api:Invoke'],
  resources,
});
const deny = (...resources: string[]): AuthorizerStatement => ({
  effect: 'Deny',
  actions: ['execute-api:Invoke'],
  resources,
});

/** A regular-expression reference for the wildcard matcher. */
function referenceMatch(pattern: string, value: string): boolean {
  const source = [...pattern]
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's').test(value);
}

describe('ARN wildcard matching', () => {
  it('`*` spans any characters, slashes and colons included', () => {
    expect(matchesWildcard(`${STAGE}/*`, arn('GET', '/demo/reports/x/y'))).toBe(true);
    expect(matchesWildcard(`${STAGE}/*/*`, arn('DELETE', '/tokens/tok_1'))).toBe(true);
    expect(matchesWildcard('arn:aws:execute-api:*', arn('GET', '/x'))).toBe(true);
    expect(matchesWildcard('*', '')).toBe(true);
  });

  it('`?` matches exactly one character', () => {
    expect(matchesWildcard(`${STAGE}/GE?/demo`, arn('GET', '/demo'))).toBe(true);
    expect(matchesWildcard(`${STAGE}/GE?/demo`, arn('GE', '/demo'))).toBe(false);
    expect(matchesWildcard(`${STAGE}/???/demo`, arn('POST', '/demo'))).toBe(false);
  });

  it('everything else is literal and the whole ARN must match', () => {
    expect(matchesWildcard(arn('GET', '/demo/reports'), arn('GET', '/demo/reports/x'))).toBe(false);
    expect(matchesWildcard(arn('GET', '/demo/reports'), arn('GET', '/demo/reportsx'))).toBe(false);
    expect(matchesWildcard(arn('GET', '/demo/a.b'), arn('GET', '/demo/aXb'))).toBe(false);
    expect(matchesWildcard(arn('GET', '/demo/reports/*'), arn('GET', '/demo/reports'))).toBe(false);
  });

  it('agrees with a regular-expression reference on arbitrary patterns', () => {
    const alphabet = fc.constantFrom('a', 'b', '/', ':', '*', '?', '.');
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 12 }).map((chars) => chars.join('')),
        fc
          .array(fc.constantFrom('a', 'b', '/', ':', '.', '*'), { maxLength: 12 })
          .map((chars) => chars.join('')),
        (pattern, value) => matchesWildcard(pattern, value) === referenceMatch(pattern, value),
      ),
      { numRuns: 2000 },
    );
  });
});

describe('policy evaluation', () => {
  it('allows when an Allow statement matches the method ARN', () => {
    expect(evaluatePolicy([allow(arn('GET', '/demo/reports/*'))], arn('GET', '/demo/reports/x'))).toBe(
      'allow',
    );
  });

  it('denies implicitly when no statement matches', () => {
    expect(evaluatePolicy([allow(arn('GET', '/demo/reports/*'))], arn('POST', '/demo/reports/x'))).toBe(
      'implicitDeny',
    );
    expect(evaluatePolicy([], arn('GET', '/x'))).toBe('implicitDeny');
  });

  it('an explicit Deny wins over any Allow, in whatever order', () => {
    const statements = [allow(`${STAGE}/*`), deny(arn('GET', '/demo/system/*'))];
    expect(evaluatePolicy(statements, arn('GET', '/demo/system/x'))).toBe('explicitDeny');
    expect(evaluatePolicy([...statements].reverse(), arn('GET', '/demo/system/x'))).toBe('explicitDeny');
    expect(evaluatePolicy(statements, arn('GET', '/demo/reports/x'))).toBe('allow');
  });

  it('a statement for another action does not apply; action wildcards and case do', () => {
    const other: AuthorizerStatement = {
      effect: 'Allow',
      actions: ['execute-api:ManageConnections'],
      resources: ['*'],
    };
    expect(evaluatePolicy([other], arn('GET', '/x'))).toBe('implicitDeny');
    const any: AuthorizerStatement = { effect: 'Allow', actions: ['execute-api:*'], resources: ['*'] };
    expect(evaluatePolicy([any], arn('GET', '/x'))).toBe('allow');
    const lower: AuthorizerStatement = { effect: 'Allow', actions: ['execute-api:invoke'], resources: ['*'] };
    expect(evaluatePolicy([lower], arn('GET', '/x'))).toBe('allow');
  });

  it("evaluates the token authorizer's own policies as API Gateway would", () => {
    const resources = allowedResources(STAGE, '/demo', ['reports:read']);
    const policy = readAuthorizerOutput({ principalId: 'u', policyDocument: allowPolicy(STAGE, resources) });
    expect(evaluatePolicy(policy.statements, arn('GET', '/demo/reports'))).toBe('allow');
    expect(evaluatePolicy(policy.statements, arn('HEAD', '/demo/reports/a/b'))).toBe('allow');
    expect(evaluatePolicy(policy.statements, arn('POST', '/demo/reports/x'))).toBe('implicitDeny');
    expect(evaluatePolicy(policy.statements, arn('GET', '/demo/content/x'))).toBe('implicitDeny');
    const denied = readAuthorizerOutput({ principalId: 'u', policyDocument: denyAllPolicy(STAGE) });
    expect(evaluatePolicy(denied.statements, arn('GET', '/demo/reports/x'))).toBe('explicitDeny');
  });
});

describe('reading the authorizer output', () => {
  it('accepts Resource and Action as a string or a list, and a single Statement object', () => {
    const output = readAuthorizerOutput({
      principalId: 'user-1',
      policyDocument: {
        Version: '2012-10-17',
        Statement: { Effect: 'Allow', Action: 'execute-api:Invoke', Resource: `${STAGE}/*/*` },
      },
    });
    expect(output.statements).toEqual([allow(`${STAGE}/*/*`)]);
  });

  it('stringifies context values and drops null ones, as the integration receives them', () => {
    const output = readAuthorizerOutput({
      principalId: 'user-1',
      policyDocument: { Statement: [] },
      context: { name: 'a', count: 3, admin: false, gone: null },
    });
    expect(output.context).toEqual({ name: 'a', count: '3', admin: 'false' });
  });

  it.each([
    ['not an object', 'Unauthorized'],
    ['no principalId', { policyDocument: { Statement: [] } }],
    ['no policyDocument', { principalId: 'u' }],
    [
      'a bad Effect',
      { principalId: 'u', policyDocument: { Statement: [{ Effect: 'Maybe', Action: 'x', Resource: 'y' }] } },
    ],
    [
      'an empty Resource list',
      { principalId: 'u', policyDocument: { Statement: [{ Effect: 'Allow', Action: 'x', Resource: [] }] } },
    ],
    [
      'a nested context value',
      { principalId: 'u', policyDocument: { Statement: [] }, context: { nested: { a: 1 } } },
    ],
    [
      'an array context value',
      { principalId: 'u', policyDocument: { Statement: [] }, context: { list: ['a'] } },
    ],
  ])('refuses %s (a 500 at the gateway)', (_, output) => {
    expect(() => readAuthorizerOutput(output)).toThrow(AuthorizerConfigurationError);
  });
});
