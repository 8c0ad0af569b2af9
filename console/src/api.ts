import type { z } from 'zod';
import type { ErrorResponse, RouteContracts } from '../../lambdas/contract/api-schemas';

// The management API client. Every request and response type comes from the one contract
// (lambdas/contract/api-schemas.ts, which the API validates with and the OpenAPI document is generated
// from), imported as types only: nothing of the server is bundled, and a contract change that breaks
// the console fails `npm run typecheck`.

type Contract<N extends keyof RouteContracts> = RouteContracts[N];
type Response<
  N extends keyof RouteContracts,
  S extends keyof Contract<N>['responses'],
> = Contract<N>['responses'][S] extends z.ZodType ? z.output<Contract<N>['responses'][S]> : never;
type Body<N extends keyof RouteContracts> =
  Contract<N> extends { body: z.ZodType } ? z.input<Contract<N>['body']> : never;
type Query<N extends keyof RouteContracts> =
  Contract<N> extends { query: z.ZodType }
    ? Partial<Record<keyof z.input<Contract<N>['query']>, string>>
    : never;

type TokenList = Response<'listTokens', 200>;
/** A token as the listing shows it. */
export type Token = TokenList['items'][number];
/** One token with its limits and quota usage (GET /tokens/{id}, edit). */
export type TokenDetail = Response<'getToken', 200>;
export type CreatedToken = Response<'createToken', 201>;
export type Policy = Response<'getPolicy', 200>;
export type TokenType = Policy['tokenTypes'][number];
export type AuditEvent = Response<'listAuditEvents', 200>['items'][number];
type AuditEventList = Response<'listAuditEvents', 200>;
export type TokenAccess = Response<'getUserTokenAccess', 200>;
type RevokeAllResult = Response<'revokeAllTokens', 200>;
type RevokeAllJob = Response<'getRevokeAllJob', 200>;
type CreateTokenBody = Body<'createToken'>;
type UpdateTokenBody = Body<'updateToken'>;
type RotateTokenBody = Body<'rotateToken'>;
type ReportLeakBody = Body<'reportLeak'>;
export type LeakReportResult = Response<'reportLeak', 200>;
type ListTokensQuery = Query<'listTokens'>;
type ListAuditQuery = Query<'listAuditEvents'>;
export type ApiErrorBody = ErrorResponse['error'];
export type ErrorCode = ApiErrorBody['code'];
export type TokenStatusFilter = NonNullable<z.input<Contract<'listTokens'>['query']>['status']>;

/** An answer with an error body (4xx/5xx), a gateway error, or no answer at all (network). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'NETWORK',
    message: string,
    readonly details: NonNullable<ApiErrorBody['details']> = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Worth a retry: no answer, or the server's fault. */
  get retryable(): boolean {
    return this.code === 'NETWORK' || this.status >= 500 || this.code === 'RATE_LIMITED';
  }
}

function errorOf(status: number, body: unknown): ApiError {
  const error = (body as { error?: Partial<ApiErrorBody> } | null)?.error;
  if (error !== undefined && typeof error.code === 'string') {
    return new ApiError(status, error.code, error.message ?? '', error.details ?? []);
  }
  // A gateway answer without our error body (a proxy, a 502): classify by status.
  const code: ErrorCode =
    status === 401
      ? 'UNAUTHORIZED'
      : status === 403
        ? 'FORBIDDEN'
        : status === 404
          ? 'NOT_FOUND'
          : 'INTERNAL';
  return new ApiError(status, code, `HTTP ${status}`);
}

const queryString = (query: Record<string, string | undefined>): string => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query))
    if (value !== undefined && value !== '') params.set(key, value);
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
};

export class ApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly bearer: () => string | undefined,
    private readonly onUnauthorized: () => void,
  ) {}

  private async request<T>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; data: T }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const jwt = this.bearer();
    if (jwt !== undefined) headers.authorization = `Bearer ${jwt}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: globalThis.Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      throw new ApiError(0, 'NETWORK', 'no answer');
    }
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = null;
    }
    if (!response.ok) {
      const error = errorOf(response.status, parsed);
      if (response.status === 401) this.onUnauthorized();
      throw error;
    }
    return { status: response.status, data: parsed as T };
  }

  async policy(): Promise<Policy> {
    return (await this.request<Policy>('GET', '/policy')).data;
  }
  async listTokens(query: ListTokensQuery): Promise<TokenList> {
    return (await this.request<TokenList>('GET', `/tokens${queryString(query)}`)).data;
  }
  async getToken(id: string): Promise<TokenDetail> {
    return (await this.request<TokenDetail>('GET', `/tokens/${encodeURIComponent(id)}`)).data;
  }
  async createToken(body: CreateTokenBody): Promise<CreatedToken> {
    return (await this.request<CreatedToken>('POST', '/tokens', body)).data;
  }
  async updateToken(id: string, body: UpdateTokenBody): Promise<TokenDetail> {
    return (await this.request<TokenDetail>('PATCH', `/tokens/${encodeURIComponent(id)}`, body)).data;
  }
  async rotateToken(id: string, body: RotateTokenBody): Promise<CreatedToken> {
    return (await this.request<CreatedToken>('POST', `/tokens/${encodeURIComponent(id)}/rotate`, body)).data;
  }
  async revokeToken(id: string): Promise<void> {
    await this.request<null>('DELETE', `/tokens/${encodeURIComponent(id)}`);
  }
  async revokeAll(userId?: string): Promise<RevokeAllResult> {
    return (await this.request<RevokeAllResult>('DELETE', `/tokens${queryString({ userId })}`)).data;
  }
  async revokeAllJob(jobId: string): Promise<RevokeAllJob> {
    return (await this.request<RevokeAllJob>('GET', `/revoke-all-jobs/${encodeURIComponent(jobId)}`)).data;
  }
  async tokenAccess(userId: string): Promise<TokenAccess> {
    return (await this.request<TokenAccess>('GET', `/users/${encodeURIComponent(userId)}/token-access`)).data;
  }
  async setTokenAccess(userId: string, enabled: boolean): Promise<TokenAccess> {
    return (
      await this.request<TokenAccess>('PUT', `/users/${encodeURIComponent(userId)}/token-access`, { enabled })
    ).data;
  }
  async reportLeak(body: ReportLeakBody): Promise<LeakReportResult> {
    return (await this.request<LeakReportResult>('POST', '/leaks', body)).data;
  }
  async auditEvents(query: ListAuditQuery): Promise<AuditEventList> {
    return (await this.request<AuditEventList>('GET', `/audit-events${queryString(query)}`)).data;
  }
}
