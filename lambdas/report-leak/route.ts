import { NotFoundError } from '../core/errors.js';
import { revokeLeakedSecret } from '../core/leaks.js';
import { leakDepsOf, type ManagementDeps } from '../http/management-deps.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';

// POST /leaks: a signed-in user reports a token found in the wild (docs/leaks.md). Presenting the
// secret is the authorization: any role may report any token of their own account, and the effect
// only ever ends access. Anything else (malformed, unknown, another account's) is the same 404.

export function reportLeakRoute(
  deps: Pick<ManagementDeps, 'tokens' | 'credentials' | 'hmacKey' | 'settings' | 'clock'>,
): RouteHandler {
  const leakDeps = leakDepsOf(deps);
  return routeHandler('reportLeak', async ({ caller, body }) => {
    const result = await revokeLeakedSecret(leakDeps, { kind: 'user', caller }, body.token, {
      url: body.url,
      source: body.source,
    });
    if (result.outcome === 'not_ours') throw new NotFoundError('No such token in your account');
    return { statusCode: 200, body: { tokenId: result.tokenId, outcome: result.outcome } };
  });
}
