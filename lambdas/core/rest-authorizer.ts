import { headerValue } from './bearer.js';
import { type MethodArn, parseMethodArn } from './gateway-policy.js';

// API Gateway REST Lambda authorizers, shared by the token authorizer and the management API's JWT
// authorizer: what they read from a TOKEN or REQUEST event, and the answers they have in common.
// The token authorizer's own dialects (HTTP API payload 2.0, base paths, route maps, the answer for
// each decision) are in lambdas/token-authorizer/gateway.ts, which reads REST events through this
// module; the cache-safe policies of its decisions are built in gateway-policy.ts.

type StringMap = Readonly<Record<string, string | null | undefined>>;

/** The fields of a REST TOKEN or REQUEST authorizer event that an authorizer reads; nothing else is trusted. */
interface RestAuthorizerEventFields {
  readonly type?: string;
  readonly methodArn?: string;
  /** TOKEN events: the identity source's value (the Authorization header). */
  readonly authorizationToken?: string;
  /** REQUEST events: the request's headers. */
  readonly headers?: StringMap | null;
}

interface RestAuthorizerInput {
  readonly methodArn: MethodArn;
  /** The Authorization header's value, undefined when absent or ambiguous (bearer.ts's headerValue). */
  readonly authorization: string | undefined;
  /** A TOKEN authorizer: the event carries only the token and the method ARN. */
  readonly isTokenEvent: boolean;
}

/** Distinct method ARNs remembered (one per method and path asked for); more only means parsing again. */
const MAX_PARSED_ARNS = 256;
const parsedArns = new Map<string, MethodArn | undefined>();

/** parseMethodArn, remembered per ARN string: a busy API asks for the same few again and again. */
function methodArnOf(arn: string): MethodArn | undefined {
  let parsed = parsedArns.get(arn);
  if (parsed === undefined && !parsedArns.has(arn)) {
    parsed = parseMethodArn(arn);
    if (parsedArns.size >= MAX_PARSED_ARNS) parsedArns.clear();
    parsedArns.set(arn, parsed);
  }
  return parsed;
}

/**
 * The method ARN and the Authorization value of a REST authorizer event: `authorizationToken` in a
 * TOKEN event, the `Authorization` header (any spelling) in a REQUEST event. Undefined when the
 * event has no method ARN that parses: no event API Gateway sends, so a deployment error.
 */
export function readRestAuthorizerEvent(event: RestAuthorizerEventFields): RestAuthorizerInput | undefined {
  const methodArn = typeof event.methodArn === 'string' ? methodArnOf(event.methodArn) : undefined;
  if (methodArn === undefined) return undefined;
  const isTokenEvent = event.type === 'TOKEN';
  return { methodArn, authorization: restAuthorizationOf(event, isTokenEvent), isTokenEvent };
}

/** The Authorization value of a REST event: `authorizationToken` (TOKEN) or the header (REQUEST). */
export function restAuthorizationOf(
  event: RestAuthorizerEventFields,
  isTokenEvent: boolean,
): string | undefined {
  if (!isTokenEvent) return headerValue(event.headers, 'authorization');
  return typeof event.authorizationToken === 'string' ? event.authorizationToken : undefined;
}

/** Thrown for every 401-class decision on REST: API Gateway maps exactly this message to 401. */
export function unauthorized(): Error {
  return new Error('Unauthorized');
}

/** An IAM policy document with one statement, as API Gateway reads an authorizer's answer. */
interface StagePolicyDocument {
  Version: '2012-10-17';
  Statement: [{ Action: 'execute-api:Invoke'; Effect: 'Allow'; Resource: string }];
}

/**
 * Allows every method on every path of the API stage (its ARN with a wildcard method and path):
 * right for every route, so cache-safe with the Authorization header as the only identity source,
 * when the handlers behind it make every finer decision themselves (the management API's check
 * roles per route).
 */
export function allowStagePolicy(apiStageArn: string): StagePolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${apiStageArn}/*/*` }],
  };
}
