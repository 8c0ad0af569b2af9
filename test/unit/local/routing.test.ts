import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MANAGEMENT_ROUTES } from '../../../lambdas/contract/routes.js';
import { parseResourcePath, RouteTable } from '../../../local/routing.js';

const table = new RouteTable([
  ...MANAGEMENT_ROUTES.map((route) => ({ method: route.method, path: route.path, target: route.name })),
  { method: 'ANY', path: '/demo/{area}', target: 'demo' },
  { method: 'ANY', path: '/demo/{area}/{proxy+}', target: 'demo' },
  { method: 'POST', path: '/_local/session', target: 'session' },
  { method: 'GET', path: '/demo/reports/fixed', target: 'fixed' },
]);

const targetOf = (method: string, path: string) => {
  const match = table.match(method, path);
  return match.kind === 'matched'
    ? { target: match.route.target, parameters: match.pathParameters }
    : match.kind;
};

describe('route matching', () => {
  it('matches every route of the route table by method and path', () => {
    for (const route of MANAGEMENT_ROUTES) {
      const path = route.path.replace('{id}', 'tok_abc');
      expect(targetOf(route.method, path)).toMatchObject({ target: route.name });
    }
  });

  it('fills `{param}` path parameters, decoded', () => {
    expect(targetOf('GET', '/tokens/tok_abc')).toEqual({ target: 'getToken', parameters: { id: 'tok_abc' } });
    expect(targetOf('DELETE', '/tokens/a%20b')).toEqual({ target: 'revokeToken', parameters: { id: 'a b' } });
  });

  it('a greedy `{proxy+}` takes the rest of the path; ANY takes every method', () => {
    expect(targetOf('PATCH', '/demo/reports/x/y/z')).toEqual({
      target: 'demo',
      parameters: { area: 'reports', proxy: 'x/y/z' },
    });
    expect(targetOf('HEAD', '/demo/reports')).toEqual({ target: 'demo', parameters: { area: 'reports' } });
  });

  it('the most specific resource wins: literal over {param} over {proxy+}', () => {
    expect(targetOf('GET', '/demo/reports/fixed')).toEqual({ target: 'fixed', parameters: {} });
    // The literal resource has no POST: API Gateway does not fall back to the greedy one.
    expect(targetOf('POST', '/demo/reports/fixed')).toBe('noMethod');
    expect(targetOf('GET', '/demo/reports/other')).toMatchObject({ target: 'demo' });
  });

  it('an unknown path is noResource; a known path with another method is noMethod', () => {
    expect(targetOf('GET', '/nope')).toBe('noResource');
    expect(targetOf('GET', '/')).toBe('noResource');
    expect(targetOf('GET', '/tokens/a/b')).toBe('noResource');
    expect(targetOf('PUT', '/tokens')).toBe('noMethod');
    expect(targetOf('GET', '/_local/session')).toBe('noMethod');
  });

  it('an empty segment matches no parameter', () => {
    expect(targetOf('GET', '/tokens/')).toBe('noResource');
    expect(targetOf('GET', '/demo//x')).toBe('noResource');
    expect(targetOf('GET', '/demo/reports/x//y')).toBe('noResource');
  });

  it('method names are case-insensitive', () => {
    expect(targetOf('get', '/policy')).toMatchObject({ target: 'getPolicy' });
  });

  it('refuses a greedy parameter that is not last and duplicate routes', () => {
    expect(() => parseResourcePath('/a/{proxy+}/b')).toThrow(/greedy/);
    expect(
      () =>
        new RouteTable([
          { method: 'GET', path: '/a', target: 1 },
          { method: 'GET', path: '/a', target: 2 },
        ]),
    ).toThrow(/duplicate/);
  });

  it('any single-segment id under /tokens reaches getToken with that id', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 30 }), (id) => {
        const match = table.match('GET', `/tokens/${encodeURIComponent(id)}`);
        return (
          match.kind === 'matched' && match.route.target === 'getToken' && match.pathParameters.id === id
        );
      }),
    );
  });
});
