import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pathIssueOf, pathIssueOfAny } from '../../../lambdas/core/gateway-scope.js';

// Which paths the token authorizer refuses to judge (gateway-scope.ts): dot segments, encoded
// separators and dots, backslashes. The handler's answers for them are in
// test/unit/authorizer/gateway-hardening.test.ts.

describe('pathIssueOf', () => {
  it('passes any path of plain segments; refuses one with a dot segment or encoded separator anywhere', () => {
    const segment = fc
      .stringMatching(/^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,11}$/)
      .filter((s) => !/^\.+$/.test(s));
    const segments = fc.array(segment, { minLength: 0, maxLength: 6 });
    fc.assert(fc.property(segments, (parts) => pathIssueOf(`/${parts.join('/')}`) === undefined));
    fc.assert(
      fc.property(
        segments,
        segments,
        fc.constantFrom('.', '..', '%2e', '%2E%2e', '%2f', '%5C', '%252F', 'a%2Fb'),
        (before, after, bad) => pathIssueOf(`/${[...before, bad, ...after].join('/')}`) !== undefined,
      ),
    );
  });

  it('names the issue, and the first one among several forms of a path', () => {
    expect(pathIssueOf('/a/../b')).toBe('DOT_SEGMENT');
    expect(pathIssueOf('/a/%2E%2e/b')).toBe('ENCODED_SEPARATOR');
    expect(pathIssueOf('/a\\b')).toBe('BACKSLASH');
    expect(pathIssueOf('/a/b.c/..d/.e')).toBeUndefined();
    expect(pathIssueOfAny([undefined, '/a/b', '/a/%2fb'])).toBe('ENCODED_SEPARATOR');
    expect(pathIssueOfAny(['/a/b', undefined])).toBeUndefined();
  });
});
