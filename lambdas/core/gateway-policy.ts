import { METHODS_BY_ACTION } from './gateway-scope.js';
import { SCOPE_PATTERN, type ScopeAction } from './scope-patterns.js';

// IAM policies for REST API Lambda authorizers, built so that API Gateway's result cache cannot
// turn one decision into a wrong answer for another route.
//
// API Gateway caches the whole authorizer output per identity-source values for the TTL and
// evaluates the cached policy against the method ARN of every later request with the same values
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html;
// https://repost.aws/knowledge-center/api-gateway-lambda-authorization-errors). So the Allow policy of
// a valid token lists every method ARN its scopes allow, and nothing else: a cached copy never
// allows what the scopes do not and never denies another allowed route. A request outside the
// scopes matches no statement: implicit deny, 403, from the same policy.
//
// That listing is only possible under the area rule, where the scope follows from a path prefix.
// With a route→scope map the scope depends on the route template API Gateway matched, and IAM's
// `*` in a Resource spans `/`, so no list of ARN patterns can say "one segment": `GET /v1/reports/*`
// for `/v1/reports/{id}` would also match `/v1/reports/{id}/secrets`, mapped to another scope. So
// for an API with a map the deployed identity sources also carry `context.httpMethod` and
// `context.resourcePath` (the template): a cached policy is then only ever evaluated against
// requests of the same method and template, and the authorizer answers for a mapped template with
// a policy about that one route (routeResource): Allow when the token holds its scope, else an
// explicit Deny (403). An unmapped template keeps the area listing, which is right for any route.

export interface MethodArn {
  /** `arn:<partition>:execute-api:<region>:<account>:<apiId>/<stage>`: every resource of this API stage. */
  readonly apiStageArn: string;
  readonly apiId: string;
  readonly stage: string;
  readonly method: string;
  /** The request path as the ARN carries it: `/` followed by the resource path, `/` for the root. */
  readonly path: string;
}

/**
 * Parses `arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD>/<path>`. The path may
 * itself contain `:` and `/`, so only the first five colons and the first three slashes split.
 */
export function parseMethodArn(arn: string): MethodArn | undefined {
  let cursor = 0;
  for (let colon = 0; colon < 5; colon++) {
    const next = arn.indexOf(':', cursor);
    if (next === -1) return undefined;
    cursor = next + 1;
  }
  const head = arn.slice(0, cursor);
  const headParts = head.split(':');
  if (headParts[0] !== 'arn' || headParts[2] !== 'execute-api') return undefined;
  const resource = arn.slice(cursor);
  const firstSlash = resource.indexOf('/');
  const secondSlash = firstSlash === -1 ? -1 : resource.indexOf('/', firstSlash + 1);
  if (firstSlash <= 0 || secondSlash === -1) return undefined;
  const apiId = resource.slice(0, firstSlash);
  const stage = resource.slice(firstSlash + 1, secondSlash);
  const thirdSlash = resource.indexOf('/', secondSlash + 1);
  const method =
    thirdSlash === -1 ? resource.slice(secondSlash + 1) : resource.slice(secondSlash + 1, thirdSlash);
  const path = thirdSlash === -1 ? '/' : resource.slice(thirdSlash);
  if (stage === '' || method === '') return undefined;
  return { apiStageArn: `${head}${apiId}/${stage}`, apiId, stage, method, path };
}

interface PolicyStatement {
  readonly Action: 'execute-api:Invoke';
  readonly Effect: 'Allow' | 'Deny';
  readonly Resource: string[];
}

interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: PolicyStatement[];
}

/**
 * Every method ARN the scopes allow under the base path (normalized): for `<area>:read` GET, HEAD
 * and OPTIONS, for `<area>:write` POST, PUT, PATCH and DELETE, each on `<basePath>/<area>` and
 * `<basePath>/<area>/*`. Strings that are not scopes are ignored: an area can never smuggle in a
 * wildcard.
 */
export function allowedResources(apiStageArn: string, basePath: string, scopes: readonly string[]): string[] {
  const resources = new Set<string>();
  for (const scope of scopes) {
    const match = SCOPE_PATTERN.exec(scope);
    if (match === null) continue;
    const area = match[1];
    const action = match[2] as ScopeAction;
    for (const method of METHODS_BY_ACTION[action]) {
      const resource = `${apiStageArn}/${method}${basePath}/${area}`;
      resources.add(resource);
      resources.add(`${resource}/*`);
    }
  }
  return [...resources];
}

/**
 * The ARN pattern of one method on one route template: `GET` and `/v1/reports/{id}` give
 * `<apiStageArn>/GET/v1/reports/*`. Each `{x}` and `{x+}` becomes `*`, which matches every value
 * API Gateway can put there (and more, since `*` spans `/`: safe only because the cache key holds
 * the method and the template, see above).
 */
export function routeResource(apiStageArn: string, method: string, template: string): string {
  return `${apiStageArn}/${method.toUpperCase()}${template.replace(/\{[^/{}]*\}/g, '*')}`;
}

/**
 * The largest policy document (JSON.stringify bytes) the authorizer hands API Gateway. Its limit on
 * an authorizer's policy is not clearly documented (8 KB is often quoted); 4 KB leaves room. Under
 * the area rule the listing grows with the token's scopes (14 ARNs per area with both actions: 12
 * default scopes in ap-southeast-2, stage `production`, base `/demo` are 8,257 bytes), so a listing
 * above this bound is replaced by requestPolicy when the cache key names the method and the path.
 */
export const MAX_POLICY_BYTES = 4096;

/** The size the bound is about: the document as JSON, in UTF-8 bytes. */
export function policyBytes(policy: object): number {
  return Buffer.byteLength(JSON.stringify(policy), 'utf8');
}

/**
 * A policy about one request only: Allow (or explicitly Deny) its method on every path of the API
 * stage, `<apiStageArn>/<METHOD>/*`. Cache-safe only when the authorizer's cache key holds the
 * method and the request path (REST identity sources `context.httpMethod` and `context.path`): a
 * cached copy is then only evaluated against requests with this method and path, which get the same
 * decision. One ARN of the stage and a method: its size does not depend on the scopes or the path.
 */
export function requestPolicy(apiStageArn: string, method: string, allow: boolean): PolicyDocument {
  const resource = `${apiStageArn}/${method.toUpperCase()}/*`;
  return allow ? allowPolicy(apiStageArn, [resource]) : denyPolicy([resource]);
}

/** An explicit deny of the given resources: the 403 for a mapped route the token may not call. */
export function denyPolicy(resources: readonly string[]): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: [...resources] }],
  };
}

/** Allows exactly the given resources; a policy that allows nothing is an explicit deny of all. */
export function allowPolicy(apiStageArn: string, resources: readonly string[]): PolicyDocument {
  if (resources.length === 0) return denyAllPolicy(apiStageArn);
  return {
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: [...resources] }],
  };
}

/** An explicit deny of every method and path of the API stage. */
export function denyAllPolicy(apiStageArn: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: [`${apiStageArn}/*`] }],
  };
}
