import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../../lambdas/core/authorization.js';
import { MAX_POLICY_BYTES, parseMethodArn, policyBytes } from '../../../lambdas/core/gateway-policy.js';
import { AREA_PATTERN } from '../../../lambdas/core/scope-patterns.js';
import { readAuthorizerEvent, restRefusal, restResponse } from '../../../lambdas/token-authorizer/gateway.js';
import { restResponseFor } from '../../../lambdas/token-authorizer/rest-responses.js';
import { credentialRecord, evaluatePolicy, restRequestEvent } from '../../support/authorizer-events.js';

// The size of the REST Allow policy (#18 item 7, docs/security.md "Policy size"). Under the area
// rule the policy lists every method ARN the token's scopes allow (14 per area with both actions),
// which grows past what API Gateway is known to accept. When the cache key names the method and
// the path (identity sources `context.httpMethod` and `context.path`, which the TokenAuthorizer
// construct sets), a listing above 4 KB is replaced by a policy about the request's method only,
// which a cached copy can only ever be evaluated against for this same method and path.

const DEFAULT_AREAS = ['content', 'products', 'triggers', 'reports', 'bulk-data', 'system'];
const ALL_METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const NOW = Date.now();

const allScopes = (areas: readonly string[]) => areas.flatMap((area) => [`${area}:read`, `${area}:write`]);

function arnOf(region: string, stage: string, method: string, path: string): string {
  return `arn:aws:execute-api:${region}:123456789012:a1b2c3d4e5/${stage}/${method}${path}`;
}

/** The REST event of `method path` on that Region and stage, its cache key as the construct builds it. */
function keyedEvent(region: string, stage: string, method: string, path: string, basePath: string) {
  const event = restRequestEvent({
    authorization: 'Bearer token',
    method,
    path,
    basePath,
    identitySource: ['Bearer token', '203.0.113.7', method, `/${stage}${path}`].join(','),
  });
  const requestContext = { ...(event.requestContext as Record<string, unknown>), path: `/${stage}${path}` };
  return { ...event, methodArn: arnOf(region, stage, method, path), requestContext };
}

describe('REST policy size', () => {
  it('keeps the 12 default scopes in ap-southeast-2, stage production, base /demo under 4 KB', () => {
    const credential = credentialRecord({ scopes: allScopes(DEFAULT_AREAS) });
    const event = keyedEvent('ap-southeast-2', 'production', 'GET', '/demo/content/items', '/demo');
    const request = readAuthorizerEvent(event, { basePath: '', routeScopesJson: undefined });
    if (request.gateway !== 'rest') throw new Error('expected a REST request');
    expect(request.keyedByPath).toBe(true);
    const decision = decide(credential, NOW, request);
    expect(decision.reason).toBe('VALID');
    // The listing alone: about 8 KB (8,257 bytes with the issue's account and API id).
    expect(policyBytes(restResponse(decision, request.methodArn, '/demo').policyDocument)).toBeGreaterThan(
      7_500,
    );
    const answer = restResponseFor(decision, request.methodArn, request.basePath, request.keyedByPath);
    expect(policyBytes(answer.policyDocument)).toBeLessThanOrEqual(MAX_POLICY_BYTES);
    expect(evaluatePolicy(answer, event.methodArn)).toBe('allow');
  });

  it('keeps the listing when the cache key does not name the path (unchanged for such keys)', () => {
    const credential = credentialRecord({ scopes: allScopes(DEFAULT_AREAS) });
    const event = restRequestEvent({
      authorization: 'Bearer token',
      path: '/demo/content/items',
      basePath: '/demo',
    });
    const request = readAuthorizerEvent(event, { basePath: '', routeScopesJson: undefined });
    if (request.gateway !== 'rest') throw new Error('expected a REST request');
    expect(request.keyedByPath).toBe(false);
    const decision = decide(credential, NOW, request);
    const answer = restResponseFor(decision, request.methodArn, request.basePath, request.keyedByPath);
    expect(answer).toEqual(restResponse(decision, request.methodArn, request.basePath));
    expect(evaluatePolicy(answer, String(event.methodArn).replace('/GET/', '/GET/x/'))).toBe('implicit-deny');
  });

  it('refuses a long non-canonical path with a small policy when the key names the path', () => {
    const credential = credentialRecord({ scopes: allScopes(DEFAULT_AREAS) });
    const path = `/demo/content/${'a/'.repeat(2500)}%2e%2e/system`;
    const event = keyedEvent('ap-southeast-2', 'production', 'GET', path, '/demo');
    const request = readAuthorizerEvent(event, { basePath: '', routeScopesJson: undefined });
    if (request.gateway !== 'rest') throw new Error('expected a REST request');
    expect(request.pathIssue).toBe('ENCODED_SEPARATOR');
    const answer = restRefusal(
      decide(credential, NOW, request),
      request.methodArn,
      '/demo',
      request.keyedByPath,
    );
    expect(policyBytes(answer.policyDocument)).toBeLessThanOrEqual(MAX_POLICY_BYTES);
    expect(evaluatePolicy(answer, event.methodArn)).toBe('explicit-deny');
  });

  const areaArb = fc.stringMatching(/^[a-z][a-z0-9-]{0,39}$/).filter((area) => AREA_PATTERN.test(area));
  const settingArb = fc
    .record({
      catalogue: fc.uniqueArray(areaArb, { minLength: 1, maxLength: 60 }),
      region: fc.oneof(
        fc.constantFrom('us-east-1', 'ap-southeast-2', 'ap-northeast-3', 'us-gov-west-1', 'eu-central-2'),
        fc.stringMatching(/^[a-z]{2}(-[a-z]{1,12}){1,2}-[1-9]$/),
      ),
      stage: fc.stringMatching(/^[A-Za-z0-9_-]{1,128}$/),
      basePath: fc.oneof(
        fc.constant(''),
        fc
          .array(fc.stringMatching(/^[a-z0-9-]{1,20}$/), { minLength: 1, maxLength: 4 })
          .map((s) => `/${s.join('/')}`),
      ),
    })
    .chain((setting) =>
      fc.record({
        setting: fc.constant(setting),
        scopes: fc.subarray(allScopes(setting.catalogue)),
        method: fc.constantFrom(...ALL_METHODS),
        area: fc.oneof(fc.constantFrom(...setting.catalogue), areaArb),
        rest: fc.constantFrom('', '/x', '/x/y/z'),
      }),
    );

  it('stays under 4 KB and cache-safe for any catalogue, Region, stage and base path', () => {
    fc.assert(
      fc.property(settingArb, ({ setting, scopes, method, area, rest }) => {
        const { region, stage, basePath } = setting;
        const credential = credentialRecord({ scopes });
        const path = `${basePath}/${area}${rest}`;
        const event = keyedEvent(region, stage, method, path, basePath);
        const request = readAuthorizerEvent(event, { basePath: '', routeScopesJson: undefined });
        if (request.gateway !== 'rest') throw new Error('expected a REST request');
        const decision = decide(credential, NOW, request);
        const answer = restResponseFor(decision, request.methodArn, request.basePath, request.keyedByPath);
        expect(policyBytes(answer.policyDocument)).toBeLessThanOrEqual(MAX_POLICY_BYTES);

        // Cache safety: the cached answer is evaluated against every request with the same key. The
        // key holds the method and the path, so that is this request, and the answer must be its
        // decision. A listing (the answer when it fits) must moreover be right for any request.
        const expected = (m: string, p: string) =>
          decide(credential, NOW, { method: m, path: p, basePath, sourceIp: '203.0.113.7' }).reason ===
          'VALID'
            ? 'allow'
            : 'deny';
        const verdict = (arn: string) => (evaluatePolicy(answer, arn) === 'allow' ? 'allow' : 'deny');
        expect(verdict(event.methodArn)).toBe(expected(method, path));
        const narrowed = JSON.stringify(answer.policyDocument).split(':execute-api:').length === 2;
        if (!narrowed) {
          for (const otherMethod of ALL_METHODS) {
            for (const otherArea of [area, ...setting.catalogue.slice(0, 3)]) {
              for (const otherPath of [
                `${basePath}/${otherArea}`,
                `${basePath}/${otherArea}/q`,
                `${basePath}/${otherArea}x/q`,
                `/z${basePath}/${otherArea}`,
              ]) {
                expect(
                  verdict(arnOf(region, stage, otherMethod, otherPath)),
                  `${otherMethod} ${otherPath}`,
                ).toBe(expected(otherMethod, otherPath));
              }
            }
          }
        }
        // Never anything on another stage or API.
        expect(verdict(arnOf(region, `${stage}x`, method, path))).toBe('deny');
        expect(parseMethodArn(event.methodArn)?.stage).toBe(stage);
      }),
      { numRuns: 150 },
    );
  });
});
