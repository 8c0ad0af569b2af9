import type {
  APIGatewayEventIdentity,
  APIGatewayEventRequestContextWithAuthorizer,
  APIGatewayProxyEvent,
  APIGatewayRequestAuthorizerEvent,
} from 'aws-lambda';

// The events API Gateway (REST API, Lambda proxy integration) hands to Lambda, built from one HTTP
// request: the REQUEST authorizer event and the proxy event (payload 1.0). Shapes follow the AWS
// samples in test/fixtures/aws-events/.

/** One REST API stage as the local gateway emulates it. */
export interface ApiStage {
  readonly apiId: string;
  readonly stage: string;
  readonly stageVariables: Readonly<Record<string, string>> | null;
}

const LOCAL_REGION = 'local';
const LOCAL_ACCOUNT_ID = '000000000000';

/** What the gateway knows about an incoming request. */
export interface IncomingRequest {
  /** Upper case. */
  readonly method: string;
  /** The path as received, without the query string. */
  readonly path: string;
  /** Node's `rawHeaders`: names (as the client wrote them) and values, alternating. */
  readonly rawHeaders: readonly string[];
  /** Decoded query parameters in order, repeats included. */
  readonly query: readonly (readonly [string, string])[];
  readonly body: string | null;
  readonly sourceIp: string;
  readonly requestId: string;
  /** Epoch milliseconds. */
  readonly receivedAt: number;
  /** `host:port` the gateway listens on. */
  readonly domainName: string;
  readonly port: number;
}

/** The matched resource: its path with `{param}`s and the values. */
export interface MatchedResource {
  readonly resourcePath: string;
  readonly pathParameters: Readonly<Record<string, string>>;
}

export function methodArnOf(api: ApiStage, method: string, path: string): string {
  return `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${api.apiId}/${api.stage}/${method}${path}`;
}

/** The value of a request header (case-insensitive); the last one when repeated, as REST APIs do. */
export function headerOf(request: IncomingRequest, name: string): string | undefined {
  const lower = name.toLowerCase();
  let value: string | undefined;
  for (let index = 0; index + 1 < request.rawHeaders.length; index += 2) {
    if (request.rawHeaders[index]?.toLowerCase() === lower) value = request.rawHeaders[index + 1];
  }
  return value;
}

interface HeaderMaps {
  readonly headers: Record<string, string>;
  readonly multiValueHeaders: Record<string, string[]>;
}

function headerMaps(request: IncomingRequest): HeaderMaps {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const add = (name: string, value: string) => {
    headers[name] = value;
    const values = multiValueHeaders[name] ?? [];
    values.push(value);
    multiValueHeaders[name] = values;
  };
  for (let index = 0; index + 1 < request.rawHeaders.length; index += 2) {
    const name = request.rawHeaders[index];
    const value = request.rawHeaders[index + 1];
    if (name === undefined || value === undefined) continue;
    if (/^x-forwarded-(for|port|proto)$/i.test(name)) continue;
    add(name, value);
  }
  // API Gateway adds these; X-Forwarded-For ends with the address the connection came from.
  const forwardedFor = headerOf(request, 'x-forwarded-for');
  add(
    'X-Forwarded-For',
    forwardedFor === undefined ? request.sourceIp : `${forwardedFor}, ${request.sourceIp}`,
  );
  add('X-Forwarded-Port', String(request.port));
  add('X-Forwarded-Proto', 'http');
  return { headers, multiValueHeaders };
}

function queryMaps(request: IncomingRequest) {
  if (request.query.length === 0) {
    return { queryStringParameters: null, multiValueQueryStringParameters: null };
  }
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of request.query) {
    single[name] = value;
    multi[name] = [...(multi[name] ?? []), value];
  }
  return { queryStringParameters: single, multiValueQueryStringParameters: multi };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (value: number) => String(value).padStart(2, '0');

/** `20/Aug/2021:14:36:50 +0000`, as in `requestContext.requestTime`. */
function requestTimeOf(epochMs: number): string {
  const time = new Date(epochMs);
  return `${pad(time.getUTCDate())}/${MONTHS[time.getUTCMonth()]}/${time.getUTCFullYear()}:${pad(
    time.getUTCHours(),
  )}:${pad(time.getUTCMinutes())}:${pad(time.getUTCSeconds())} +0000`;
}

function identityOf(request: IncomingRequest): APIGatewayEventIdentity {
  return {
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp: request.sourceIp,
    user: null,
    userAgent: headerOf(request, 'user-agent') ?? null,
    userArn: null,
  };
}

function requestContextOf<A>(
  api: ApiStage,
  request: IncomingRequest,
  resource: MatchedResource,
  authorizer: A,
): APIGatewayEventRequestContextWithAuthorizer<A> {
  return {
    accountId: LOCAL_ACCOUNT_ID,
    apiId: api.apiId,
    authorizer,
    domainName: request.domainName,
    domainPrefix: request.domainName.split('.')[0] ?? request.domainName,
    extendedRequestId: request.requestId,
    httpMethod: request.method,
    identity: identityOf(request),
    path: `/${api.stage}${request.path}`,
    protocol: 'HTTP/1.1',
    requestId: request.requestId,
    requestTime: requestTimeOf(request.receivedAt),
    requestTimeEpoch: request.receivedAt,
    resourceId: `${request.method} ${resource.resourcePath}`,
    resourcePath: resource.resourcePath,
    stage: api.stage,
  };
}

const pathParametersOf = (resource: MatchedResource) =>
  Object.keys(resource.pathParameters).length === 0 ? null : { ...resource.pathParameters };

/** The REST API `REQUEST` authorizer event, as in rest-request-authorizer.json. */
type LocalRequestAuthorizerEvent = APIGatewayRequestAuthorizerEvent & {
  readonly version: '1.0';
  /** The identity-source values, comma-separated. */
  readonly identitySource: string;
  readonly authorizationToken: string;
};

export function requestAuthorizerEvent(
  api: ApiStage,
  request: IncomingRequest,
  resource: MatchedResource,
  identitySources: readonly string[],
): LocalRequestAuthorizerEvent {
  const identitySource = identitySources.join(',');
  return {
    version: '1.0',
    type: 'REQUEST',
    methodArn: methodArnOf(api, request.method, request.path),
    identitySource,
    authorizationToken: identitySource,
    resource: resource.resourcePath,
    path: request.path,
    httpMethod: request.method,
    ...headerMaps(request),
    ...queryMaps(request),
    pathParameters: pathParametersOf(resource) ?? {},
    stageVariables: api.stageVariables === null ? null : { ...api.stageVariables },
    requestContext: requestContextOf(api, request, resource, undefined),
  };
}

/** The proxy integration event (payload 1.0), as in rest-proxy.json. */
export function proxyEvent(
  api: ApiStage,
  request: IncomingRequest,
  resource: MatchedResource,
  authorizer: Readonly<Record<string, string | number>> | null,
): APIGatewayProxyEvent {
  return {
    resource: resource.resourcePath,
    path: request.path,
    httpMethod: request.method,
    ...headerMaps(request),
    ...queryMaps(request),
    pathParameters: pathParametersOf(resource),
    stageVariables: api.stageVariables === null ? null : { ...api.stageVariables },
    requestContext: requestContextOf(api, request, resource, authorizer === null ? null : { ...authorizer }),
    body: request.body,
    isBase64Encoded: false,
  };
}
