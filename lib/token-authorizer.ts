import {
  Annotations,
  Arn,
  ArnFormat,
  Aspects,
  Aws,
  CfnCondition,
  Duration,
  Fn,
  type IAspect,
  Names,
  Stack,
  Token,
} from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct, type IConstruct, type Node } from 'constructs';
import { BASE_PATH_STAGE_VARIABLE, normalizeBasePath } from '../lambdas/core/gateway-scope.js';
import { RATE_LIMITS_STAGE_VARIABLE, STRICT_RATE_LIMITS } from '../lambdas/core/rate-window.js';
import {
  encodeRouteScopes,
  parseRouteScopeMap,
  ROUTE_SCOPES_STAGE_VARIABLE,
  type RouteScopeMap,
  routeOfTemplate,
} from '../lambdas/core/route-scopes.js';
import { addUsagePlanGatewayResponses } from './constructs/rest-api.js';
import { type UsagePlans, usagePlansOf } from './constructs/usage-plans.js';
import { TOKEN_AUTHORIZER_REST_IDENTITY_SOURCES } from './gateway-settings.js';

// Attaching the one deployed token authorizer to an API takes more than a RequestAuthorizer: the
// API must tell the shared function its base path and route map (stage variables, because one
// function serves many APIs), the identity sources must make API Gateway's result cache safe for
// what the function decides (see lambdas/token-authorizer/gateway.ts, "Caching"), and API Gateway
// needs permission to invoke a function that may live in another stack or account. This construct
// does all of it, so that adopting the authorizer is one construct and one option per method.

/** API Gateway's stage variable values may only hold these characters. */
const STAGE_VARIABLE_VALUE = /^[A-Za-z0-9\-._~:/?#&=,]+$/;
const FUNCTION_ARN =
  /^arn:[a-z-]+:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$/;
/**
 * The function of `byRegion` in the Region of `scope`'s stack; checks that each literal ARN is in
 * the Region it is listed under (an authorizer in another Region cannot be attached).
 */
function functionArnOfRegion(scope: IConstruct, byRegion: Readonly<Record<string, string>>): string {
  const path = scope.node.path;
  const region = Stack.of(scope).region;
  if (Token.isUnresolved(region)) {
    throw new Error(
      `TokenAuthorizer ${path}: functionArnsByRegion needs a stack with a concrete Region (env: { region }) to pick its Region's authorizer`,
    );
  }
  for (const [listed, arn] of Object.entries(byRegion)) {
    if (Token.isUnresolved(arn)) continue;
    const arnRegion = arn.split(':')[3];
    if (!FUNCTION_ARN.test(arn) || arnRegion !== listed) {
      throw new Error(
        `TokenAuthorizer ${path}: functionArnsByRegion['${listed}'] must be the ARN of a Lambda function in ${listed}, got "${arn}"`,
      );
    }
  }
  const arn = Object.hasOwn(byRegion, region) ? byRegion[region] : undefined;
  if (arn === undefined) {
    throw new Error(
      `TokenAuthorizer ${path}: functionArnsByRegion has no authorizer for this stack's Region ${region} (it lists ${Object.keys(byRegion).join(', ') || 'none'}); deploy the Access Tokens stacks with that Region in regions`,
    );
  }
  return arn;
}

/** API Gateway caches authorizer results for at most an hour. */
const MAX_CACHE_TTL_SECONDS = 3600;

/**
 * The settings of a token authorizer deployment that bound API Gateway's result cache: a revoked
 * token may pass for the gateway's TTL plus the function's in-process cache, and the deployment
 * promises at most `revocationWindowSeconds` (0 = immediate).
 */
export interface TokenAuthorizerRevocationSettings {
  readonly revocationWindowSeconds: number;
  readonly verificationCacheSeconds: number;
}

/**
 * The longest gateway cache TTL a deployment allows: the revocation window minus the function's
 * in-process cache (which never exceeds the window). The same as gatewayCacheTtlSeconds in
 * lambdas/core/settings.ts, for the two fields it reads.
 */
export function gatewayCacheTtlOf(settings: TokenAuthorizerRevocationSettings): Duration {
  const window = settings.revocationWindowSeconds;
  return Duration.seconds(window - Math.min(settings.verificationCacheSeconds, window));
}

// The settings of token authorizer functions this app deploys (AccessTokensStack declares its own),
// so that a TokenAuthorizer given that function derives its TTL from the deployment's settings
// rather than from defaults the deployment may not use.
const DEPLOYED_SETTINGS = new WeakMap<object, TokenAuthorizerRevocationSettings>();

/**
 * Records the revocation settings `fn` is deployed with: a TokenAuthorizer whose `handler` is `fn`
 * then takes its default cache TTL from them, and refuses a longer one.
 */
export function declareTokenAuthorizerSettings(
  fn: lambda.IFunction,
  settings: TokenAuthorizerRevocationSettings,
): void {
  tokenAuthorizerArnsOf(fn).add(fn.functionArn);
  DEPLOYED_SETTINGS.set(fn, {
    revocationWindowSeconds: settings.revocationWindowSeconds,
    verificationCacheSeconds: settings.verificationCacheSeconds,
  });
}

/**
 * REST API identity sources: always the token, the caller's address (IP allowlists), the method
 * and the request path (an Allow listing above 4 KB is narrowed to the request, docs/security.md).
 */
export const REST_IDENTITY_SOURCES: readonly string[] = TOKEN_AUTHORIZER_REST_IDENTITY_SOURCES;
/**
 * Added on a REST API with a route map: the policy for a mapped route names that route's template
 * (an IAM method ARN wildcard cannot express "the routes whose template maps to this scope"), so a
 * cached policy is only right for the method and route it was made for.
 */
export const REST_ROUTE_MAP_IDENTITY_SOURCES: readonly string[] = [
  apigateway.IdentitySource.context('httpMethod'),
  apigateway.IdentitySource.context('resourcePath'),
];
/**
 * HTTP API identity sources: a simple response is a boolean for every request with the same
 * identity-source values, so the key must name the method and path as well as the token and the
 * caller's address.
 */
export const HTTP_IDENTITY_SOURCES: readonly string[] = [
  '$request.header.Authorization',
  '$context.identity.sourceIp',
  '$context.httpMethod',
  '$context.path',
];

/** How an HTTP API attaches the token authorizer (HTTP APIs have no usage plans). */
export interface TokenHttpApiOptions {
  /**
   * `'strict'`: per-token rate limits and quotas on this HTTP API, counted by the authorizer
   * (docs/rate-limits.md "HTTP APIs"): its result cache is off (every request reaches the function,
   * which costs a Lambda invocation and a few DynamoDB writes per request, docs/performance.md), and
   * a request over the token's limits is refused with a 403 (an HTTP API authorizer cannot answer
   * 429). `'none'`: no rate limits on this API.
   * @default 'none'
   */
  readonly rateLimits?: 'none' | 'strict';
}

export interface TokenAuthorizerProps {
  /**
   * The token authorizer function, when it is a construct of this app (for instance
   * `AccessTokensStack.tokenAuthorizer.function`). Give exactly one of `handler` and `functionArn`.
   */
  readonly handler?: lambda.IFunction;
  /**
   * The ARN of the deployed token authorizer: the Access Tokens stack's `TokenAuthorizerFunctionArn`
   * output. It may be in another stack or another account (same region); a function in another
   * account must list this API's account in its `authorizerInvokerAccounts` setting.
   */
  readonly functionArn?: string;
  /**
   * Several Regions (README "Several Regions"): the deployed token authorizer of each Region, by
   * Region (the home stack's and each edge stack's `TokenAuthorizerFunctionArn` output, e.g.
   * `{ 'us-east-1': ..., 'eu-west-1': ... }`). The construct attaches the one of its own stack's
   * Region (an authorizer calls a function of its API's Region): deploy one API per Region from one
   * piece of code, each with its nearest authorizer. Needs a stack with a concrete Region (`env`).
   * Give exactly one of `handler`, `functionArn` and `functionArnsByRegion`.
   */
  readonly functionArnsByRegion?: Readonly<Record<string, string>>;
  /**
   * The path before the scope's area segment, for the area rule (`GET <basePath>/reports/...` needs
   * `reports:read`), and the root that `routeScopes` routes are relative to.
   * @default '' (the area is the first path segment)
   */
  readonly basePath?: string;
  /**
   * Scopes per route, for routes whose path does not start with an area: keys `<METHOD> <route>`
   * with the route relative to `basePath` in API Gateway's template syntax (`GET /reports/{id}`,
   * `ANY /jobs/{proxy+}`), values scopes (`reports:read`). Routes not in the map keep the area rule.
   * Validated at synth: a malformed key or scope, or a key that names no route of the API, fails it.
   * @default - no map: the area rule for every route
   */
  readonly routeScopes?: RouteScopeMap;
  /**
   * How long API Gateway caches a decision. A revoked token can pass for this long plus the
   * authorizer's own in-process cache (`verificationCacheSeconds`), so it must be at most
   * `revocationWindowSeconds - verificationCacheSeconds` of the deployment (60 − 10 by default; 0
   * when the window is 0): the stack's `TokenAuthorizerCacheTtlSeconds` output.
   * `Duration.seconds(0)` turns the gateway cache off. A longer TTL than the deployment allows
   * fails, when the construct knows the deployment's settings.
   * @default - derived from the deployment's settings when `handler` is the function of an
   * `AccessTokensStack` of this app (see {@link declareTokenAuthorizerSettings}); required
   * otherwise (a `functionArn`, whose deployment's settings the construct cannot see)
   */
  readonly cacheTtl?: Duration;
  /**
   * Whether to add the Lambda permission that lets each API invoke the function. Only the
   * function's account can add it.
   * @default - added when the function is in the API's account: always for `handler` or an ARN
   * that is a token; for a literal ARN, when its account is the stack's, and in an
   * environment-agnostic stack under a CloudFormation condition that compares the two at deploy.
   */
  readonly invokePermission?: boolean;
  /**
   * Per-token rate limits and quotas on the REST APIs this authorizer protects
   * (docs/rate-limits.md): the usage plans of the Access Tokens deployment. The API then takes its
   * API key from the authorizer (`apiKeySource: AUTHORIZER`), the protected methods require one
   * (`apiKeyRequired`), the API's deployment stage joins every token type's plan, and the 429/503
   * gateway responses of usage plans are added. `false`: none of that (no limits at the gateway).
   * The plans must be in the API's stack (an API in another stack: see docs/rate-limits.md).
   * HTTP APIs have no usage plans: this does not apply to them.
   * @default - the usage plans of the `AccessTokensStack` whose function `handler` is; none for a
   * `functionArn`
   */
  readonly usagePlans?: UsagePlans | false;
}

/** Where a REST API's methods point at the token authorizer (and whether they require its usage key). */
export type TokenAuthorizerMethodOptions = Required<
  Pick<apigateway.MethodOptions, 'authorizer' | 'authorizationType'>
> &
  Pick<apigateway.MethodOptions, 'apiKeyRequired'>;

/**
 * The Access Tokens token authorizer, attached to your REST APIs and HTTP APIs.
 *
 * ```ts
 * // REST API, area rule: GET /v1/reports/{id} needs reports:read, POST needs reports:write.
 * // cacheTtl: the Access Tokens stack's TokenAuthorizerCacheTtlSeconds output.
 * const auth = new TokenAuthorizer(this, 'AccessTokens', { functionArn, cacheTtl, basePath: '/v1' });
 * api.root.resourceForPath('/v1/reports/{id}').addMethod('GET', integration, auth.restMethodOptions(api));
 *
 * // HTTP API, route map: for paths that do not start with a scope area.
 * const jobs = new TokenAuthorizer(this, 'Jobs', { functionArn, cacheTtl, routeScopes: { 'GET /jobs/{id}': 'triggers:read' } });
 * httpApi.addRoutes({ path: '/jobs/{id}', methods: [HttpMethod.GET], integration, authorizer: jobs.forHttpApi(httpApi) });
 * ```
 *
 * For each API it is attached to, it creates the authorizer (REST: a REQUEST authorizer; HTTP API:
 * a Lambda authorizer with simple responses, payload 2.0), sets the stage variables that tell the
 * shared function this API's base path (`accessTokensBasePath`) and route map
 * (`accessTokensRoutes`), picks identity sources that keep API Gateway's result cache from replaying
 * one request's decision on another, and lets API Gateway invoke the function. The stage variables
 * go on the REST API's `deploymentStage` and on the HTTP API's `defaultStage`.
 *
 * Outcomes: REST APIs answer 401 for a missing, malformed, unknown, expired, revoked or disabled token and 403 for a
 * valid token without the scope or outside its IP allowlist; an HTTP API's simple response can only
 * allow or deny, so there every refusal is 403. Your integration receives `tokenId`, `userId`,
 * `accountId`, `scopes` (space-separated) and `type` in the authorizer context.
 */
export class TokenAuthorizer extends Construct {
  /** The function's ARN. */
  public readonly functionArn: string;
  /** The normalized base path: a leading slash, no trailing slash, '' for none. */
  public readonly basePath: string;
  /** The validated route map, when there is one. */
  public readonly routeScopes: RouteScopeMap | undefined;
  public readonly cacheTtl: Duration;
  /** The stage variables this construct sets on every API it is attached to. */
  public readonly stageVariables: Readonly<Record<string, string>>;

  private readonly function: lambda.IFunction;
  private readonly invokePermission: boolean | undefined;
  /** The deployment's usage plans, when this authorizer wires its REST APIs to them. */
  public readonly usagePlans: UsagePlans | undefined;
  /** Whether the plans were given (usagePlans), not found through `handler`. */
  private readonly usagePlansGiven: boolean;
  /** The REST APIs wired to the usage plans. */
  private readonly apisWithUsagePlans = new Set<apigateway.RestApi>();
  private readonly restAuthorizers = new Map<apigateway.RestApi, apigateway.RequestAuthorizer>();
  private readonly httpAuthorizers = new Map<apigwv2.HttpApi, TokenHttpRouteAuthorizer>();
  private readonly httpRateLimits = new Map<apigwv2.HttpApi, 'none' | 'strict'>();

  constructor(scope: Construct, id: string, props: TokenAuthorizerProps) {
    super(scope, id);
    const given = [props.handler, props.functionArn, props.functionArnsByRegion].filter(
      (value) => value !== undefined,
    );
    const functionArn =
      props.handler?.functionArn ??
      props.functionArn ??
      (props.functionArnsByRegion === undefined
        ? undefined
        : functionArnOfRegion(this, props.functionArnsByRegion));
    if (functionArn === undefined || given.length !== 1) {
      throw new Error(
        `TokenAuthorizer ${this.node.path}: give exactly one of handler and functionArn (or functionArnsByRegion instead)`,
      );
    }
    if (!Token.isUnresolved(functionArn) && !FUNCTION_ARN.test(functionArn)) {
      throw new Error(
        `TokenAuthorizer ${this.node.path}: functionArn "${functionArn}" is not a Lambda function ARN (arn:<partition>:lambda:<region>:<account>:function:<name>)`,
      );
    }
    this.functionArn = functionArn;
    // A view of the function whose addPermission does nothing: RequestAuthorizer and
    // HttpLambdaAuthorizer would otherwise add (or, for an imported function, silently skip) a
    // permission of their own; this construct adds exactly one per API, knowing the account.
    this.function = lambda.Function.fromFunctionAttributes(this, 'Function', {
      functionArn: this.functionArn,
      // Together: addPermission is a silent no-op (skipPermissions alone only silences the warning).
      sameEnvironment: false,
      skipPermissions: true,
    });
    this.invokePermission = props.invokePermission;
    this.usagePlansGiven = props.usagePlans !== undefined && props.usagePlans !== false;
    this.usagePlans =
      props.usagePlans === false
        ? undefined
        : (props.usagePlans ?? (props.handler === undefined ? undefined : usagePlansOf(props.handler)));
    // Every API of this stack, attached through this construct or not, gets the cache-key check.
    checkCacheKeysInStack(Stack.of(this));
    tokenAuthorizerArnsOf(this).add(this.functionArn);

    this.basePath = normalizeBasePath(props.basePath);
    if (this.basePath !== '' && !STAGE_VARIABLE_VALUE.test(this.basePath)) {
      throw new Error(
        `TokenAuthorizer ${this.node.path}: basePath "${props.basePath}" must use only A-Z a-z 0-9 - . _ ~ : / ? # & = , (a stage variable carries it)`,
      );
    }

    this.cacheTtl = this.cacheTtlFor(props);

    const variables: Record<string, string> = {
      // '/' rather than '': a stage variable cannot be empty, and the authorizer normalizes both to ''.
      [BASE_PATH_STAGE_VARIABLE]: this.basePath === '' ? '/' : this.basePath,
    };
    if (props.routeScopes !== undefined) {
      let map: RouteScopeMap;
      let encoded: string;
      try {
        map = parseRouteScopeMap(props.routeScopes);
        if (Object.keys(map).length === 0) {
          throw new Error('routeScopes is empty; leave it out to use the area rule for every route');
        }
        encoded = encodeRouteScopes(map);
      } catch (error) {
        throw new Error(
          `TokenAuthorizer ${this.node.path}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      this.routeScopes = map;
      variables[ROUTE_SCOPES_STAGE_VARIABLE] = encoded;
    } else {
      this.routeScopes = undefined;
    }
    this.stageVariables = variables;
  }

  /**
   * The gateway cache TTL: the one given, checked against the deployment's settings when they are
   * known; else the longest those settings allow; with neither, an error (a default built from
   * default settings would break the promise of a deployment whose window is shorter, e.g. 0).
   */
  private cacheTtlFor(props: TokenAuthorizerProps): Duration {
    const deployed = props.handler === undefined ? undefined : DEPLOYED_SETTINGS.get(props.handler);
    const allowed = deployed === undefined ? undefined : gatewayCacheTtlOf(deployed);
    const ttl = props.cacheTtl ?? allowed;
    if (ttl === undefined) {
      throw new Error(
        `TokenAuthorizer ${this.node.path}: give cacheTtl, at most the deployment's revocationWindowSeconds - verificationCacheSeconds (its TokenAuthorizerCacheTtlSeconds output); the settings of a function given by ARN are not known here`,
      );
    }
    const seconds = ttl.toSeconds();
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_CACHE_TTL_SECONDS) {
      throw new Error(
        `TokenAuthorizer ${this.node.path}: cacheTtl must be whole seconds from 0 to ${MAX_CACHE_TTL_SECONDS}, got ${seconds}`,
      );
    }
    if (allowed !== undefined && deployed !== undefined && seconds > allowed.toSeconds()) {
      throw new Error(
        `TokenAuthorizer ${this.node.path}: cacheTtl ${seconds} s would let a revoked token pass longer than the deployment's revocationWindowSeconds (${deployed.revocationWindowSeconds} s, of which the function's own cache takes ${deployed.revocationWindowSeconds - allowed.toSeconds()} s): at most ${allowed.toSeconds()} s`,
      );
    }
    return ttl;
  }

  /** The identity sources of this authorizer on a REST API (`method.request...` / `context...`). */
  public get restIdentitySources(): readonly string[] {
    return this.routeScopes === undefined
      ? REST_IDENTITY_SOURCES
      : [...new Set([...REST_IDENTITY_SOURCES, ...REST_ROUTE_MAP_IDENTITY_SOURCES])];
  }

  /**
   * The REQUEST authorizer of this token authorizer on `api`, created (with its stage variables and
   * invoke permission) the first time, the same one after that. Use it as a method's `authorizer`
   * with `authorizationType: CUSTOM`, or use {@link restMethodOptions}.
   */
  public forRestApi(api: apigateway.RestApi): apigateway.RequestAuthorizer {
    const existing = this.restAuthorizers.get(api);
    if (existing !== undefined) return existing;

    this.setRestStageVariables(api);
    const authorizer = new apigateway.RequestAuthorizer(this, `Rest${Names.nodeUniqueId(api.node)}`, {
      handler: this.function,
      identitySources: [...this.restIdentitySources],
      resultsCacheTtl: this.cacheTtl,
    });
    // An authorizer change takes effect only with a new deployment of the stage: make it one.
    api.latestDeployment?.addToLogicalId({
      accessTokensAuthorizer: {
        functionArn: this.functionArn,
        identitySources: this.restIdentitySources,
        cacheTtlSeconds: this.cacheTtl.toSeconds(),
      },
    });
    this.addPermissionFor(api.node, api.restApiId, authorizer.authorizerId);
    this.wireUsagePlans(api, authorizer);
    this.validateRoutesOf(api.node.path, () => restRoutesOf(api));
    checkCacheKeysOf(api, this.functionArn);
    this.restAuthorizers.set(api, authorizer);
    return authorizer;
  }

  /**
   * `{ authorizer, authorizationType: CUSTOM }` for `resource.addMethod(method, integration, ...)`,
   * with `apiKeyRequired: true` when the authorizer wires usage plans (a method given the
   * authorizer otherwise gets it too, at synth).
   */
  public restMethodOptions(api: apigateway.RestApi): TokenAuthorizerMethodOptions {
    const authorizer = this.forRestApi(api);
    return {
      authorizer,
      authorizationType: apigateway.AuthorizationType.CUSTOM,
      ...(this.apisWithUsagePlans.has(api) ? { apiKeyRequired: true } : {}),
    };
  }

  /**
   * Whether `api` can be wired to the plans: only in their stack (a plan naming another stack's
   * stage would make the stacks depend on each other). Plans found through `handler` are skipped
   * for an API of another stack, with a warning; plans given explicitly fail synth.
   */
  private usesPlansOn(api: apigateway.RestApi): boolean {
    const plans = this.usagePlans;
    if (plans === undefined) return false;
    if (Stack.of(api) === Stack.of(plans)) return true;
    const message = `TokenAuthorizer ${this.node.path}: ${api.node.path} is in another stack than the usage plans ${plans.node.path}, so per-token rate limits and quotas do not apply to it; see docs/rate-limits.md ("APIs in another stack")`;
    if (this.usagePlansGiven) throw new Error(message);
    Annotations.of(api).addWarningV2('access-tokens:usage-plans-other-stack', message);
    return false;
  }

  /**
   * Usage plans on a REST API (docs/rate-limits.md): the API takes each request's API key from this
   * authorizer's answer (`usageIdentifierKey`, the token's usage key), every method this
   * authorizer protects requires it, and the API's stage is on every token type's plan.
   */
  private wireUsagePlans(api: apigateway.RestApi, authorizer: apigateway.RequestAuthorizer): void {
    const plans = this.usagePlans;
    if (plans === undefined || !this.usesPlansOn(api)) return;
    const cfnApi = api.node.defaultChild;
    if (!(cfnApi instanceof apigateway.CfnRestApi)) {
      throw new Error(`TokenAuthorizer ${this.node.path}: ${api.node.path} is not a CfnRestApi`);
    }
    if (cfnApi.apiKeySourceType !== undefined && cfnApi.apiKeySourceType !== 'AUTHORIZER') {
      throw new Error(
        `TokenAuthorizer ${this.node.path}: ${api.node.path} takes API keys from the ${cfnApi.apiKeySourceType} (apiKeySourceType); per-token rate limits need AUTHORIZER (the token authorizer returns each token's usage key). Remove apiKeySourceType, or pass usagePlans: false`,
      );
    }
    cfnApi.apiKeySourceType = 'AUTHORIZER';
    plans.addStage(api, api.deploymentStage);
    addUsagePlanGatewayResponses(api);
    // A method change takes effect only with a new deployment of the stage: make it one.
    api.latestDeployment?.addToLogicalId({ accessTokensUsagePlans: plans.planPrefix });
    Aspects.of(api).add(new RequireApiKeyOnMethodsOf(authorizer));
    this.apisWithUsagePlans.add(api);
  }

  /**
   * The Lambda authorizer of this token authorizer on `api` (simple responses, payload 2.0), created
   * (with its stage variables and invoke permission) the first time, the same one after that. Use
   * it as a route's `authorizer`. `options.rateLimits: 'strict'` counts per-token limits on this API
   * (see {@link TokenHttpApiOptions}); every call for one API must give the same.
   */
  public forHttpApi(api: apigwv2.HttpApi, options: TokenHttpApiOptions = {}): TokenHttpRouteAuthorizer {
    const rateLimits = options.rateLimits ?? 'none';
    const existing = this.httpAuthorizers.get(api);
    if (existing !== undefined) {
      if (this.httpRateLimits.get(api) !== rateLimits) {
        throw new Error(
          `TokenAuthorizer ${this.node.path}: ${api.node.path} is already attached with rateLimits '${this.httpRateLimits.get(api)}', not '${rateLimits}'`,
        );
      }
      return existing;
    }
    const strict = rateLimits === 'strict';

    const stage = api.defaultStage;
    if (stage === undefined) {
      throw new Error(
        `TokenAuthorizer ${this.node.path}: HTTP API ${api.node.path} has no default stage to carry the stage variables ${Object.keys(this.stageVariables).join(', ')}`,
      );
    }
    // Strict mode: the function counts this API's requests when its stage says so (strict-limits.ts).
    const variables: Record<string, string> = strict
      ? { ...this.stageVariables, [RATE_LIMITS_STAGE_VARIABLE]: STRICT_RATE_LIMITS }
      : { ...this.stageVariables };
    claimStageVariables(api.node, this, variables);
    for (const [name, value] of Object.entries(variables)) stage.addStageVariable(name, value);

    const { partition, region } = Arn.split(this.functionArn, ArnFormat.COLON_RESOURCE_NAME);
    const authorizer = new apigwv2.HttpAuthorizer(this, `Http${Names.nodeUniqueId(api.node)}`, {
      httpApi: api,
      type: apigwv2.HttpAuthorizerType.LAMBDA,
      identitySource: [...HTTP_IDENTITY_SOURCES],
      enableSimpleResponses: true,
      payloadFormatVersion: apigwv2.AuthorizerPayloadVersion.VERSION_2_0,
      authorizerUri: `arn:${partition}:apigateway:${region}:lambda:path/2015-03-31/functions/${this.functionArn}/invocations`,
      // Strict mode: a cached result would skip the function, and with it the count.
      resultsCacheTtl: strict ? Duration.seconds(0) : this.cacheTtl,
    });
    this.addPermissionFor(api.node, api.apiId, authorizer.authorizerId);
    this.validateRoutesOf(api.node.path, () => httpRoutesOf(api));
    checkCacheKeysOf(api, this.functionArn);
    const routeAuthorizer = new TokenHttpRouteAuthorizer(authorizer, api);
    this.httpAuthorizers.set(api, routeAuthorizer);
    this.httpRateLimits.set(api, rateLimits);
    return routeAuthorizer;
  }

  private setRestStageVariables(api: apigateway.RestApi): void {
    let stage: apigateway.Stage;
    try {
      stage = api.deploymentStage;
    } catch {
      throw new Error(
        `TokenAuthorizer ${this.node.path}: REST API ${api.node.path} has no deployment stage to carry the stage variables ${Object.keys(this.stageVariables).join(', ')}`,
      );
    }
    const cfnStage = stage.node.defaultChild;
    if (!(cfnStage instanceof apigateway.CfnStage)) {
      throw new Error(`TokenAuthorizer ${this.node.path}: the stage of ${api.node.path} is not a CfnStage`);
    }
    const current = cfnStage.variables;
    if (current !== undefined && Token.isUnresolved(current)) {
      throw new Error(
        `TokenAuthorizer ${this.node.path}: the stage variables of ${api.node.path} are a token; they cannot be merged`,
      );
    }
    const variables: Record<string, string> = { ...(current as Record<string, string> | undefined) };
    for (const [name, value] of Object.entries(this.stageVariables)) {
      const set = variables[name];
      // A value set through deployOptions is this API's own statement of its base path: it must agree.
      if (set !== undefined && set !== value && !isOwnedBy(api.node, name)) {
        throw new Error(
          `TokenAuthorizer ${this.node.path}: ${api.node.path} already sets the stage variable ${name} to "${set}", not "${value}"`,
        );
      }
      variables[name] = value;
    }
    claimStageVariables(api.node, this, this.stageVariables);
    cfnStage.variables = variables;
  }

  private addPermissionFor(apiNode: Node, apiId: string, authorizerId: string): void {
    if (this.invokePermission === false) return;
    const condition = this.invokePermission === true ? undefined : this.sameAccountCondition();
    if (condition === 'other-account') return;
    const permission = new lambda.CfnPermission(this, `Invoke${Names.nodeUniqueId(apiNode)}`, {
      action: 'lambda:InvokeFunction',
      functionName: this.functionArn,
      principal: 'apigateway.amazonaws.com',
      // This API's authorizer only: not its integrations, and no other API of the account.
      sourceArn: Stack.of(this).formatArn({
        service: 'execute-api',
        resource: apiId,
        resourceName: `authorizers/${authorizerId}`,
      }),
    });
    if (condition !== undefined) permission.cfnOptions.condition = condition;
  }

  /**
   * undefined: the function is in the stack's account (or may be assumed so: its ARN is a token of
   * this app); 'other-account': known to be elsewhere; a condition: decided at deploy time.
   */
  private sameAccountCondition(): CfnCondition | 'other-account' | undefined {
    if (Token.isUnresolved(this.functionArn)) return undefined;
    const functionAccount = Arn.split(this.functionArn, ArnFormat.COLON_RESOURCE_NAME).account;
    if (functionAccount === undefined || Token.isUnresolved(functionAccount)) return undefined;
    const stackAccount = Stack.of(this).account;
    if (!Token.isUnresolved(stackAccount)) {
      return stackAccount === functionAccount ? undefined : 'other-account';
    }
    // One condition per stack and account, shared by every TokenAuthorizer of the stack (CloudFormation
    // flags equivalent conditions).
    const stack = Stack.of(this);
    const id = `TokenAuthorizerFunctionInAccount${functionAccount}`;
    const existing = stack.node.tryFindChild(id);
    if (existing instanceof CfnCondition) return existing;
    return new CfnCondition(stack, id, { expression: Fn.conditionEquals(Aws.ACCOUNT_ID, functionAccount) });
  }

  /** At synth (routes are added after the authorizer): every map key must name a route of the API. */
  private validateRoutesOf(apiPath: string, routesOf: () => ApiRoute[]): void {
    const map = this.routeScopes;
    if (map === undefined) return;
    this.node.addValidation({
      validate: () => {
        const routes = routesOf()
          .map((route) => ({ method: route.method, route: routeOfTemplate(route.template, this.basePath) }))
          .filter((route): route is { method: string; route: string } => route.route !== undefined);
        return Object.keys(map)
          .filter((key) => {
            const [method, route] = key.split(' ');
            return !routes.some(
              (candidate) =>
                candidate.route === route &&
                (method === 'ANY' || candidate.method === 'ANY' || candidate.method === method),
            );
          })
          .map(
            (key) =>
              `routeScopes key "${key}" names no route of ${apiPath} under base path "${this.basePath || '/'}" (a typo would leave that route to the area rule)`,
          );
      },
    });
  }
}

/**
 * Sets `apiKeyRequired` on every method of the API that this authorizer protects, however it was
 * given the authorizer: without it the method would count no request against the token's plan.
 */
class RequireApiKeyOnMethodsOf implements IAspect {
  constructor(private readonly authorizer: apigateway.RequestAuthorizer) {}

  public visit(node: IConstruct): void {
    if (!(node instanceof apigateway.CfnMethod) || node.authorizerId === undefined) return;
    const stack = Stack.of(node);
    // Resolved, both are { Ref: <the authorizer's logical id> }: compare them as JSON.
    const ours = JSON.stringify(stack.resolve(this.authorizer.authorizerId));
    if (JSON.stringify(stack.resolve(node.authorizerId)) !== ours) return;
    node.apiKeyRequired = true;
  }
}

/** The token authorizer as an HTTP API route's `authorizer`; bound to one API. */
export class TokenHttpRouteAuthorizer implements apigwv2.IHttpRouteAuthorizer {
  constructor(
    /** The AWS::ApiGatewayV2::Authorizer. */
    public readonly authorizer: apigwv2.HttpAuthorizer,
    private readonly api: apigwv2.HttpApi,
  ) {}

  public bind(options: apigwv2.HttpRouteAuthorizerBindOptions): apigwv2.HttpRouteAuthorizerConfig {
    // By id: the route may hold a different object for the same API.
    if (options.route.httpApi.apiId !== this.api.apiId) {
      throw new Error(
        `the token authorizer of ${this.api.node.path} cannot authorize a route of another API: use forHttpApi(thatApi)`,
      );
    }
    return { authorizerId: this.authorizer.authorizerId, authorizationType: 'CUSTOM' };
  }
}

interface ApiRoute {
  readonly method: string;
  /** The route's template, base path included. */
  readonly template: string;
}

function restRoutesOf(api: apigateway.RestApi): ApiRoute[] {
  return api.methods.map((method) => ({ method: method.httpMethod, template: method.resource.path }));
}

function httpRoutesOf(api: apigwv2.HttpApi): ApiRoute[] {
  return api.node
    .findAll()
    .filter((construct): construct is apigwv2.CfnRoute => construct instanceof apigwv2.CfnRoute)
    .flatMap((route) => {
      // `GET /v1/jobs/{id}`; `$default` names no method and path, so no map key can match it.
      const [method, template] = route.routeKey.split(' ');
      return method === undefined || template === undefined ? [] : [{ method, template }];
    });
}

// Two token authorizers on one API must agree on what it tells the shared function: the stage
// holds one base path and one map. Recorded per API node, by the construct that set them.
const STAGE_VARIABLE_OWNERS = new WeakMap<object, Map<string, { owner: Construct; value: string }>>();

function isOwnedBy(apiNode: Node, name: string): boolean {
  return STAGE_VARIABLE_OWNERS.get(apiNode)?.has(name) ?? false;
}

function claimStageVariables(
  apiNode: Node,
  owner: Construct,
  variables: Readonly<Record<string, string>>,
): void {
  let owners = STAGE_VARIABLE_OWNERS.get(apiNode);
  if (owners === undefined) {
    owners = new Map();
    STAGE_VARIABLE_OWNERS.set(apiNode, owners);
  }
  const names = new Set([...owners.keys(), ...Object.keys(variables)]);
  for (const name of names) {
    const claimed = owners.get(name);
    const value = variables[name];
    if (claimed !== undefined && claimed.owner !== owner && claimed.value !== value) {
      throw new Error(
        `TokenAuthorizer ${owner.node.path}: ${apiNode.path} already has the token authorizer of ${claimed.owner.node.path} with ${name} "${claimed.value}"; one API has one base path and one route map, so attach the same TokenAuthorizer (or one with the same basePath and routeScopes)`,
      );
    }
  }
  for (const [name, value] of Object.entries(variables)) owners.set(name, { owner, value });
}

// ---------------------------------------------------------------------------------------------
// Cache keys (#11 finding 3). The route map is a stage variable, which every authorizer of the
// stage sees (and anyone can set by hand), while identity sources are per authorizer. A map-less
// TokenAuthorizer attached to a stage whose map another one set (in either order), a hand-made
// RequestAuthorizer, or `accessTokensRoutes` set through deployOptions would make the function
// answer a mapped route with a route policy that API Gateway caches under a key without the route,
// and serves for another route. So the synth fails for such an API, whatever order things were
// attached in; the function checks the same at run time for what CDK cannot see (gateway.ts).
//
// REST: when any stage of the API carries `accessTokensRoutes`, every REQUEST authorizer of the
// API (authorizers belong to the API, not to a stage) must list `context.httpMethod` and
// `context.resourcePath`, or cache nothing (TTL 0). Every one, not only those that call this
// function: which function a hand-made authorizer calls cannot always be told at synth. TOKEN
// authorizers are safe (the function never uses a map for their events); Cognito ones do not call
// it. HTTP API: a simple response is a boolean for the method and path in the key, so any Lambda
// authorizer of an API that calls a token authorizer function of this app (by its ARN) must list
// `$context.httpMethod` and `$context.path`, map or not, or cache nothing.

// The token authorizer functions' ARNs, per app (its root construct): an ARN is a token of its own
// app, which another app (another synth in the same process, as in tests) cannot resolve.
const TOKEN_AUTHORIZER_FUNCTION_ARNS = new WeakMap<IConstruct, Set<string>>();

function tokenAuthorizerArnsOf(scope: IConstruct): Set<string> {
  const root = scope.node.root;
  const known = TOKEN_AUTHORIZER_FUNCTION_ARNS.get(root);
  if (known !== undefined) return known;
  const arns = new Set<string>();
  TOKEN_AUTHORIZER_FUNCTION_ARNS.set(root, arns);
  return arns;
}
const CHECKED_APIS = new WeakSet<IConstruct>();
const CHECKED_STACKS = new WeakSet<Stack>();

function checkCacheKeysInStack(stack: Stack): void {
  if (CHECKED_STACKS.has(stack)) return;
  CHECKED_STACKS.add(stack);
  const aspect: IAspect = {
    visit(node: IConstruct): void {
      if (node instanceof apigateway.RestApiBase || node instanceof apigwv2.HttpApi) {
        checkCacheKeysOf(node, undefined);
      }
    },
  };
  Aspects.of(stack).add(aspect);
}

function checkCacheKeysOf(
  api: apigateway.RestApiBase | apigwv2.HttpApi,
  functionArn: string | undefined,
): void {
  if (functionArn !== undefined) tokenAuthorizerArnsOf(api).add(functionArn);
  if (CHECKED_APIS.has(api)) return;
  CHECKED_APIS.add(api);
  api.node.addValidation({
    validate: () => (api instanceof apigwv2.HttpApi ? httpCacheKeyProblems(api) : restCacheKeyProblems(api)),
  });
}

/** Resolved at validation time (Lazy values included); undefined when it is not an object. */
function resolvedRecord(scope: IConstruct, value: unknown): Record<string, unknown> | undefined {
  const resolved: unknown = Stack.of(scope).resolve(value);
  return typeof resolved === 'object' && resolved !== null && !Array.isArray(resolved)
    ? (resolved as Record<string, unknown>)
    : undefined;
}

/** Whether the authorizer caches: a TTL it does not name is API Gateway's default (300 s on REST). */
function cachesResults(authorizer: IConstruct, ttl: unknown): boolean {
  return Stack.of(authorizer).resolve(ttl) !== 0;
}

/**
 * Whether `id` (an authorizer's or stage's API id) names `api`: compared resolved in the API's
 * stack, because an L2 authorizer's id is a Lazy of its own, not the API's token.
 */
function namesApi(api: IConstruct, apiRef: string, id: unknown): boolean {
  const stack = Stack.of(api);
  return JSON.stringify(stack.resolve(id)) === JSON.stringify(stack.resolve(apiRef));
}

/** Whether the authorizer's identity sources (its cache key) hold every one of `required`. */
function keysCacheOn(authorizer: IConstruct, identitySource: unknown, required: readonly string[]): boolean {
  const sources = identitySourcesOf(authorizer, identitySource);
  return sources !== undefined && required.every((source) => sources.includes(source));
}

function identitySourcesOf(authorizer: IConstruct, raw: unknown): string[] | undefined {
  const resolved: unknown = Stack.of(authorizer).resolve(raw);
  if (typeof resolved === 'string') return resolved.split(',').map((source) => source.trim());
  if (Array.isArray(resolved) && resolved.every((source) => typeof source === 'string')) return resolved;
  return undefined;
}

function restCacheKeyProblems(api: apigateway.RestApiBase): string[] {
  const all = api.node.root.node.findAll();
  const withMap = all.filter(
    (construct): construct is apigateway.CfnStage =>
      construct instanceof apigateway.CfnStage &&
      namesApi(api, api.restApiId, construct.restApiId) &&
      resolvedRecord(construct, construct.variables)?.[ROUTE_SCOPES_STAGE_VARIABLE] !== undefined,
  );
  const [stage] = withMap;
  if (stage === undefined) return [];
  const required = REST_ROUTE_MAP_IDENTITY_SOURCES;
  return all
    .filter(
      (construct): construct is apigateway.CfnAuthorizer =>
        construct instanceof apigateway.CfnAuthorizer &&
        namesApi(api, api.restApiId, construct.restApiId) &&
        construct.type === 'REQUEST' &&
        cachesResults(construct, construct.authorizerResultTtlInSeconds),
    )
    .filter((authorizer) => !keysCacheOn(authorizer, authorizer.identitySource, required))
    .map(
      (authorizer) =>
        `${authorizer.node.path}: the stage ${stage.node.path} carries a route map (${ROUTE_SCOPES_STAGE_VARIABLE}), so every REQUEST authorizer of ${api.node.path} must key its cache on ${required.join(' and ')} (or cache nothing), or a cached answer for one route is served for another; its identity sources are "${String(Stack.of(authorizer).resolve(authorizer.identitySource) ?? '')}". Attach the token authorizer with one TokenAuthorizer that has the routeScopes.`,
    );
}

function httpCacheKeyProblems(api: apigwv2.HttpApi): string[] {
  const required = ['$context.httpMethod', '$context.path'];
  const all = api.node.root.node.findAll();
  const caching = all.filter(
    (construct): construct is apigwv2.CfnAuthorizer =>
      construct instanceof apigwv2.CfnAuthorizer &&
      namesApi(api, api.apiId, construct.apiId) &&
      construct.authorizerType === 'REQUEST' &&
      callsTokenAuthorizer(construct) &&
      cachesResults(construct, construct.authorizerResultTtlInSeconds),
  );
  // Strict rate limits count in the function: a cached result is a request nobody counted.
  const strictStage = all.find(
    (construct): construct is apigwv2.CfnStage =>
      construct instanceof apigwv2.CfnStage &&
      namesApi(api, api.apiId, construct.apiId) &&
      resolvedRecord(construct, construct.stageVariables)?.[RATE_LIMITS_STAGE_VARIABLE] ===
        STRICT_RATE_LIMITS,
  );
  const strictProblems =
    strictStage === undefined
      ? []
      : caching.map(
          (authorizer) =>
            `${authorizer.node.path}: the stage ${strictStage.node.path} has strict rate limits (${RATE_LIMITS_STAGE_VARIABLE}), which the token authorizer counts per request, so its result cache must be off (TTL 0), or cached requests pass uncounted. Attach it with TokenAuthorizer.forHttpApi(api, { rateLimits: 'strict' }).`,
        );
  return caching
    .filter((authorizer) => !keysCacheOn(authorizer, authorizer.identitySource, required))
    .map(
      (authorizer) =>
        `${authorizer.node.path}: it calls the token authorizer, whose simple response is a boolean for one method and path, so it must key its cache on ${required.join(' and ')} (or cache nothing); its identity sources are ${JSON.stringify(Stack.of(authorizer).resolve(authorizer.identitySource) ?? [])}. Attach the token authorizer with TokenAuthorizer.forHttpApi.`,
    )
    .concat(strictProblems);
}

/** Whether the authorizer's URI names a token authorizer function of this app (compared resolved). */
function callsTokenAuthorizer(authorizer: apigwv2.CfnAuthorizer): boolean {
  const stack = Stack.of(authorizer);
  const uri = JSON.stringify(stack.resolve(authorizer.authorizerUri) ?? '');
  return [...tokenAuthorizerArnsOf(authorizer)].some((arn) =>
    uri.includes(JSON.stringify(stack.resolve(arn)).replace(/^"|"$/g, '')),
  );
}
