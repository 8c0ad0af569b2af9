import { describe, expect, it } from 'vitest';
import { decide } from '../../../lambdas/core/authorization.js';
import type { CredentialRecord } from '../../../lambdas/core/model.js';
import { usageKeyValue } from '../../../lambdas/core/rate-limits.js';
import { encodeRouteScopes } from '../../../lambdas/core/route-scopes.js';
import {
  httpResponse,
  readAuthorizerEvent,
  restRefusal,
  type TokenAuthorizerEvent,
} from '../../../lambdas/token-authorizer/gateway.js';
import { restResponseFor } from '../../../lambdas/token-authorizer/rest-responses.js';
import {
  credentialRecord,
  evaluatePolicy,
  httpEvent,
  restRequestEvent,
} from '../../support/authorizer-events.js';

// The REST answer's usageIdentifierKey (#14, docs/rate-limits.md): an API with apiKeySource
// AUTHORIZER applies the usage plan of the key the authorizer names. Every answer that allows
// something names the token's key (usageKeyValue(tokenId), the same across rotations); an answer
// that only denies names none, and HTTP API answers never do (no usage plans there).

const NOW = Date.now();
const DEFAULTS = { basePath: '', routeScopesJson: undefined };
const TOKEN_ID = 'tok_0000000000000000000042';

function restAnswer(credential: CredentialRecord, event: Record<string, unknown>) {
  const request = readAuthorizerEvent(event as TokenAuthorizerEvent, DEFAULTS);
  if (request.gateway !== 'rest') throw new Error('expected a REST request');
  const decision = decide(credential, NOW, request);
  const answer =
    request.pathIssue === undefined
      ? restResponseFor(decision, request.methodArn, request.basePath, request.keyedByPath)
      : restRefusal(decision, request.methodArn, request.basePath, request.keyedByPath);
  return { decision, answer, methodArn: String(event.methodArn) };
}

describe('usageIdentifierKey in the token authorizer answers', () => {
  it('a VALID REST answer names the token key, derived from the token id (not the secret)', () => {
    const credential = credentialRecord({ tokenId: TOKEN_ID, scopes: ['content:read'] });
    const { decision, answer, methodArn } = restAnswer(
      credential,
      restRequestEvent({ authorization: 'Bearer x', basePath: '/demo' }),
    );
    expect(decision.reason).toBe('VALID');
    expect(evaluatePolicy(answer, methodArn)).toBe('allow');
    expect(answer.usageIdentifierKey).toBe(`usage-${TOKEN_ID}`);
    expect(answer.usageIdentifierKey).toBe(usageKeyValue(TOKEN_ID));
  });

  it('the same key for a rotated credential of the same token (same id, another secret hash)', () => {
    const before = credentialRecord({ tokenId: TOKEN_ID, secretHash: 'old' });
    const after = credentialRecord({ tokenId: TOKEN_ID, secretHash: 'new' });
    const event = restRequestEvent({ authorization: 'Bearer x', basePath: '/demo' });
    expect(restAnswer(before, event).answer.usageIdentifierKey).toBe(
      restAnswer(after, event).answer.usageIdentifierKey,
    );
  });

  it('INSUFFICIENT_SCOPE keeps the key: the cached listing still allows the token other routes', () => {
    const credential = credentialRecord({ tokenId: TOKEN_ID, scopes: ['content:read'] });
    const { decision, answer, methodArn } = restAnswer(
      credential,
      restRequestEvent({ authorization: 'Bearer x', method: 'POST', basePath: '/demo' }),
    );
    expect(decision.reason).toBe('INSUFFICIENT_SCOPE');
    expect(evaluatePolicy(answer, methodArn)).toBe('implicit-deny');
    expect(answer.usageIdentifierKey).toBe(usageKeyValue(TOKEN_ID));
  });

  it('IP_NOT_ALLOWED (a Deny of the stage) carries no key', () => {
    const credential = credentialRecord({ tokenId: TOKEN_ID, allowedIps: ['10.0.0.0/8'] });
    const { decision, answer } = restAnswer(
      credential,
      restRequestEvent({ authorization: 'Bearer x', basePath: '/demo' }),
    );
    expect(decision.reason).toBe('IP_NOT_ALLOWED');
    expect(answer).not.toHaveProperty('usageIdentifierKey');
  });

  it('scopes that allow nothing on the API (a Deny of the stage) carry no key', () => {
    const credential = credentialRecord({ tokenId: TOKEN_ID, scopes: [] });
    const { answer, methodArn } = restAnswer(
      credential,
      restRequestEvent({ authorization: 'Bearer x', basePath: '/demo' }),
    );
    expect(evaluatePolicy(answer, methodArn)).not.toBe('allow');
    expect(answer).not.toHaveProperty('usageIdentifierKey');
  });

  it('a mapped route: the Allow names the key, the Deny does not', () => {
    const stageVariables = { accessTokensRoutes: encodeRouteScopes({ 'GET /reports/{id}': 'reports:read' }) };
    const event = restRequestEvent({
      authorization: 'Bearer x',
      basePath: '/v1',
      path: '/v1/reports/7',
      resource: '/v1/reports/{id}',
      stageVariables,
    });
    const allowed = restAnswer(credentialRecord({ tokenId: TOKEN_ID, scopes: ['reports:read'] }), event);
    expect(allowed.decision.reason).toBe('VALID');
    expect(allowed.answer.usageIdentifierKey).toBe(usageKeyValue(TOKEN_ID));
    const denied = restAnswer(credentialRecord({ tokenId: TOKEN_ID, scopes: ['content:read'] }), event);
    expect(denied.decision.reason).toBe('INSUFFICIENT_SCOPE');
    expect(evaluatePolicy(denied.answer, denied.methodArn)).toBe('explicit-deny');
    expect(denied.answer).not.toHaveProperty('usageIdentifierKey');
  });

  it('a refused path keeps the key when the cached answer still allows other routes, not when it only denies', () => {
    const credential = credentialRecord({ tokenId: TOKEN_ID, scopes: ['content:read'] });
    const path = '/demo/content/%2e%2e/x';
    const listing = restAnswer(
      credential,
      restRequestEvent({ authorization: 'Bearer x', path, basePath: '/demo' }),
    );
    expect(evaluatePolicy(listing.answer, listing.methodArn)).toBe('explicit-deny');
    expect(listing.answer.usageIdentifierKey).toBe(usageKeyValue(TOKEN_ID));
    const keyed = restAnswer(
      credential,
      restRequestEvent({
        authorization: 'Bearer x',
        path,
        basePath: '/demo',
        // A cache keyed by the method and the path: the refusal is about this request only.
        identitySource: ['Bearer x', 'test-invoke-source-ip', 'GET', path].join(','),
      }),
    );
    expect(evaluatePolicy(keyed.answer, keyed.methodArn)).toBe('explicit-deny');
    expect(keyed.answer).not.toHaveProperty('usageIdentifierKey');
  });

  it('HTTP API answers carry no key (HTTP APIs have no usage plans)', () => {
    const credential = credentialRecord({ tokenId: TOKEN_ID });
    const request = readAuthorizerEvent(
      httpEvent({
        authorization: 'Bearer x',
        method: 'GET',
        path: '/demo/content/items',
        basePath: '/demo',
      }) as TokenAuthorizerEvent,
      DEFAULTS,
    );
    const answer = httpResponse(decide(credential, NOW, request));
    expect(answer).toMatchObject({ isAuthorized: true });
    expect(answer).not.toHaveProperty('usageIdentifierKey');
    expect(JSON.stringify(answer)).not.toContain('usage-');
  });
});
