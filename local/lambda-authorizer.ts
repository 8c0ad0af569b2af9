import { AuthorizerCache, identityKey } from './authorizer-cache.js';
import {
  type ApiStage,
  headerOf,
  type IncomingRequest,
  type MatchedResource,
  methodArnOf,
  requestAuthorizerEvent,
} from './events.js';
import { GATEWAY_RESPONSES, type GatewayResponse } from './gateway-responses.js';
import type { LocalFunction } from './lambda-runtime.js';
import { type AuthorizerOutput, evaluatePolicy, readAuthorizerOutput } from './policy-evaluation.js';

// A REST API Lambda `REQUEST` authorizer as API Gateway runs it:
//   - an identity source missing → 401, the function is not called;
//   - the output is cached per identity-source values for the TTL (0 = no cache), whatever sources
//     the API configures: an API with a route→scope map adds the method and the matched resource's
//     template (`context.httpMethod`, `context.resourcePath`), which identitySources can read from
//     the matched resource; a thrown
//     `Unauthorized` is cached as a 401; any other error, or an unusable output, is a 500 and is
//     not cached;
//   - the (fresh or cached) policy is evaluated against this request's method ARN: allow → the
//     integration runs with the context; explicit or implicit deny → 403.

type CacheStatus = 'hit' | 'miss';

type AuthorizationOutcome =
  | {
      readonly kind: 'allowed';
      /** What the integration receives in `requestContext.authorizer`. */
      readonly context: Readonly<Record<string, string | number>>;
      /** The answer's usageIdentifierKey (fresh or cached), for the usage plans. */
      readonly usageIdentifierKey: string | undefined;
      readonly cache: CacheStatus;
    }
  | {
      readonly kind: 'refused';
      readonly response: GatewayResponse;
      readonly cache: CacheStatus | 'none';
      /** For the log: why (never a credential). */
      readonly reason: string;
    };

type CachedResult =
  | { readonly kind: 'unauthorized' }
  | { readonly kind: 'output'; readonly output: AuthorizerOutput };

interface LambdaAuthorizerOptions {
  readonly fn: LocalFunction;
  readonly cacheTtlSeconds: number;
  /**
   * The identity-source values of a request, or undefined when one is missing. `resource` is the
   * matched resource, whose template is `context.resourcePath`.
   */
  readonly identitySources: (
    request: IncomingRequest,
    resource: MatchedResource,
  ) => readonly string[] | undefined;
  readonly log: (line: string) => void;
}

export class LambdaAuthorizer {
  private readonly cache: AuthorizerCache<CachedResult>;

  constructor(private readonly options: LambdaAuthorizerOptions) {
    this.cache = new AuthorizerCache(options.cacheTtlSeconds);
  }

  async authorize(
    api: ApiStage,
    request: IncomingRequest,
    resource: MatchedResource,
  ): Promise<AuthorizationOutcome> {
    const sources = this.options.identitySources(request, resource);
    if (sources === undefined) {
      return {
        kind: 'refused',
        response: GATEWAY_RESPONSES.unauthorized,
        cache: 'none',
        reason: 'identity source missing',
      };
    }
    const key = identityKey(sources);
    let cache: CacheStatus = 'hit';
    let result = this.cache.get(key);
    let latencyMs = 0;
    if (result === undefined) {
      cache = 'miss';
      const startedAt = performance.now();
      const event = requestAuthorizerEvent(api, request, resource, sources);
      try {
        result = await this.invoke(event);
      } catch (error) {
        this.options.log(
          `${this.options.fn.name} failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        );
        return {
          kind: 'refused',
          response: GATEWAY_RESPONSES.authorizerFailure,
          cache,
          reason: 'authorizer error',
        };
      }
      latencyMs = Math.round(performance.now() - startedAt);
      this.cache.set(key, result);
    }
    if (result.kind === 'unauthorized') {
      return { kind: 'refused', response: GATEWAY_RESPONSES.unauthorized, cache, reason: 'Unauthorized' };
    }
    const verdict = evaluatePolicy(result.output.statements, methodArnOf(api, request.method, request.path));
    if (verdict !== 'allow') {
      return { kind: 'refused', response: GATEWAY_RESPONSES.accessDenied, cache, reason: verdict };
    }
    return {
      kind: 'allowed',
      context: {
        ...result.output.context,
        principalId: result.output.principalId,
        integrationLatency: latencyMs,
      },
      usageIdentifierKey: result.output.usageIdentifierKey,
      cache,
    };
  }

  /** The function's result, or a cacheable `Unauthorized`; throws for a 500. */
  private async invoke(event: unknown): Promise<CachedResult> {
    let output: unknown;
    try {
      output = await this.options.fn.invoke(event);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message === 'Unauthorized') return { kind: 'unauthorized' };
      throw error;
    }
    return { kind: 'output', output: readAuthorizerOutput(output) };
  }
}

/**
 * REST identity-source values the way API Gateway reads them, for the sources the token authorizer
 * uses: `method.request.header.<Name>` (an empty value counts as missing), `context.identity.sourceIp`,
 * `context.httpMethod` and `context.resourcePath` (the matched template). Undefined when one is
 * missing, as API Gateway then answers 401 without calling the authorizer.
 */
export function identitySourceValues(
  sources: readonly string[],
  request: IncomingRequest,
  resource: MatchedResource,
): string[] | undefined {
  const values: string[] = [];
  for (const source of sources) {
    let value: string | undefined;
    if (source.startsWith(HEADER_SOURCE)) {
      value = headerOf(request, source.slice(HEADER_SOURCE.length));
      if (value?.trim() === '') value = undefined;
    } else if (source === 'context.identity.sourceIp') value = request.sourceIp;
    else if (source === 'context.httpMethod') value = request.method;
    else if (source === 'context.resourcePath') value = resource.resourcePath;
    else throw new Error(`identity source ${source} is not emulated`);
    if (value === undefined) return undefined;
    values.push(value);
  }
  return values;
}

const HEADER_SOURCE = 'method.request.header.';
