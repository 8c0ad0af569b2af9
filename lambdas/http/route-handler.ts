import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddyfiedHandler } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { z } from 'zod';
import { ROUTE_CONTRACTS, type RouteContract, type RouteContracts } from '../contract/api-schemas.js';
import {
  type MANAGEMENT_ROUTES,
  type ManagementRouteName,
  type RouteDefinition,
  routeNamed,
} from '../contract/routes.js';
import { ForbiddenError, ValidationError } from '../core/errors.js';
import type { Caller } from '../core/model.js';
import { logger } from '../runtime/logger.js';
import { accessLog, errorMapper, noteCaller, notePrincipal } from './middlewares.js';
import {
  assertJsonContentType,
  callerOf,
  iamPrincipalOf,
  jsonBodyOf,
  pathParametersOf,
  queryOf,
} from './request.js';
import { emptyResponse, jsonResponse } from './response.js';
import { parseInput } from './validation.js';

// The one factory behind every management route handler:
//
//   export const handler = routeHandler('getToken', async ({ caller, path }) => ({
//     statusCode: 200, body: toTokenView(await getToken(deps, caller, path.id), clock.now()) }));
//
// It looks the route up in the route table (lambdas/contract/routes.ts) and its contract in
// lambdas/contract/api-schemas.ts, and before the function runs it: authenticates the caller (401),
// checks the route's roles (403) or, on an `iam` route, that API Gateway named the signing principal (401), requires `Content-Type: application/json` for a body (415), limits
// the body to 16 KB (413), refuses bodies that are not UTF-8 (400), parses JSON (400; an absent body is
// `{}` where the contract says `bodyOptional`) and validates body, query and path parameters
// against the contract (400). The function's result is typed by
// the contract's responses and rendered as JSON with no-store and security headers; errors are
// mapped by one middleware; one log line per request. Event logging stays off (events carry the
// Authorization header).

type RouteOf<N extends ManagementRouteName> = Extract<(typeof MANAGEMENT_ROUTES)[number], { name: N }>;
type ContractOf<N extends ManagementRouteName> = RouteContracts[N];
type InputOf<C, K extends 'body' | 'query' | 'path'> = C extends {
  readonly [P in K]: infer S extends z.ZodType;
}
  ? z.output<S>
  : undefined;

interface RouteRequest<N extends ManagementRouteName> {
  /** The authenticated caller; undefined on public routes. */
  readonly caller: RouteOf<N>['auth'] extends 'jwt' ? Caller : undefined;
  readonly body: InputOf<ContractOf<N>, 'body'>;
  readonly query: InputOf<ContractOf<N>, 'query'>;
  readonly path: InputOf<ContractOf<N>, 'path'>;
  /** The proxy event as received: for a route that reads its raw body (RouteContract.rawBody). */
  readonly event: APIGatewayProxyEvent;
}

type Responses<N extends ManagementRouteName> = ContractOf<N>['responses'];
type StatusOf<N extends ManagementRouteName> = keyof Responses<N> & number;

/** A success result: one of the statuses the contract lists, with a body of its schema (none for null). */
type RouteResult<N extends ManagementRouteName> = {
  [S in StatusOf<N>]: Responses<N>[S] extends z.ZodType
    ? {
        readonly statusCode: S;
        readonly body: z.input<Responses<N>[S]>;
        readonly headers?: Record<string, string>;
      }
    : { readonly statusCode: S; readonly headers?: Record<string, string> };
}[StatusOf<N>];

type RouteFunction<N extends ManagementRouteName> = (request: RouteRequest<N>) => Promise<RouteResult<N>>;

export type RouteHandler = MiddyfiedHandler<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>;

export function routeHandler<N extends ManagementRouteName>(
  name: N,
  fn: NoInfer<RouteFunction<N>>,
): RouteHandler {
  const route: RouteDefinition = routeNamed(name);
  const contract: RouteContract = ROUTE_CONTRACTS[name];

  const base = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    let caller: Caller | undefined;
    if (route.auth === 'jwt') {
      caller = callerOf(event);
      noteCaller(event, caller);
      if (!route.roles.includes(caller.role)) {
        throw new ForbiddenError(`The ${caller.role} role is not allowed to do this`);
      }
    } else if (route.auth === 'iam') {
      // API Gateway checked the SigV4 signature and the caller's execute-api:Invoke before calling
      // us; an event without the principal it names did not come through an IAM-authorized method.
      notePrincipal(event, iamPrincipalOf(event));
    }
    // A body is JSON or nothing: 415 before a byte of it is read (routes that take no body ignore it).
    if (contract.body !== undefined && typeof event.body === 'string' && event.body !== '') {
      assertJsonContentType(event);
    }
    // A route whose every body field is optional may take no body at all (POST .../rotate).
    // A raw body (RouteContract.rawBody) is the route's to read: a signature covers its bytes.
    const body =
      contract.rawBody !== undefined
        ? undefined
        : (jsonBodyOf(event) ?? (contract.bodyOptional === true ? {} : undefined));
    if (contract.body !== undefined && body === undefined) {
      throw new ValidationError('A JSON object body is required');
    }
    const request = {
      caller,
      event,
      body: contract.body === undefined ? undefined : parseInput(contract.body, body, 'request body'),
      query:
        contract.query === undefined ? undefined : parseInput(contract.query, queryOf(event), 'query string'),
      path:
        contract.path === undefined ? undefined : parseInput(contract.path, pathParametersOf(event), 'path'),
    } as RouteRequest<N>;
    const result: { statusCode: number; body?: unknown; headers?: Record<string, string> } =
      await fn(request);
    return 'body' in result
      ? jsonResponse(result.statusCode, result.body, result.headers)
      : emptyResponse(result.statusCode, result.headers);
  };

  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>(base)
    .use(injectLambdaContext(logger, { logEvent: false, resetKeys: true }))
    .use(accessLog(route))
    .use(errorMapper());
}
