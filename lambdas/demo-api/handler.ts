import middy from '@middy/core';
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { TokenAuthorizerContext } from '../core/authorization.js';
import { areaOf, BASE_PATH_STAGE_VARIABLE, normalizeBasePath } from '../core/gateway-scope.js';
import { ENV, optionalEnv } from '../runtime/env.js';

// The demo API behind the token authorizer (docs/design.md "Local stack"): every method on
// `/demo/{area}/...` answers 200 with what the authorizer put in the request context, so a newcomer
// sees a token accepted (and, through the gateway, refused with 401/403). It reads nothing else.

const defaultBasePath = normalizeBasePath(optionalEnv(ENV.authorizerBasePath));

type StringMap = Readonly<Record<string, string | null | undefined>>;
type AuthorizerValues = Readonly<Record<string, unknown>>;

/** REST proxy events (payload 1.0) and HTTP API events (2.0): only the fields read here. */
export interface DemoApiEvent {
  readonly httpMethod?: string;
  readonly path?: string;
  readonly rawPath?: string;
  readonly pathParameters?: StringMap | null;
  readonly stageVariables?: StringMap | null;
  readonly requestContext?: {
    readonly http?: { readonly method?: string; readonly path?: string };
    /** REST: the authorizer's context itself; HTTP API: `{ lambda: context }`. */
    readonly authorizer?: (AuthorizerValues & { readonly lambda?: AuthorizerValues | null }) | null;
  };
}

export type EchoedAuthorizer = { [K in keyof TokenAuthorizerContext]: string | null };

export interface DemoResponseBody {
  readonly message: string;
  readonly method: string;
  readonly path: string;
  readonly area: string | null;
  readonly authorizer: EchoedAuthorizer;
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

function authorizerOf(event: DemoApiEvent): EchoedAuthorizer {
  const raw = event.requestContext?.authorizer;
  const values = raw?.lambda ?? raw ?? {};
  return {
    tokenId: text(values.tokenId),
    userId: text(values.userId),
    accountId: text(values.accountId),
    scopes: text(values.scopes),
    type: text(values.type),
  };
}

export async function echo(event: DemoApiEvent): Promise<APIGatewayProxyResult> {
  const method = event.httpMethod ?? event.requestContext?.http?.method ?? 'UNKNOWN';
  const path = event.path ?? event.rawPath ?? event.requestContext?.http?.path ?? '/';
  const stageBasePath = event.stageVariables?.[BASE_PATH_STAGE_VARIABLE];
  const basePath = typeof stageBasePath === 'string' ? normalizeBasePath(stageBasePath) : defaultBasePath;
  const area = text(event.pathParameters?.area) ?? areaOf(path, basePath) ?? null;
  const authorizer = authorizerOf(event);
  const body: DemoResponseBody = {
    message:
      authorizer.tokenId === null
        ? 'Hello from the demo API. No token authorizer context reached this handler.'
        : `Token ${authorizer.tokenId} accepted for ${method} on area "${area ?? ''}".`,
    method,
    path,
    area,
    authorizer,
  };
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}

export const handler = middy<DemoApiEvent, APIGatewayProxyResult>().handler(echo);
