import type { Session } from './credentials.js';
import { ApiError, CliError, NotSignedInError } from './errors.js';

// The management API over HTTP (global fetch): the CLI reads only the HTTP contract
// (lambdas/contract/), never handler code. An error answer becomes an ApiError carrying the API's
// code and message; a 401 means the session is no longer good (exit 4).

type Query = Readonly<Record<string, string | number | undefined>>;

interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
}

interface ApiReply<T> {
  readonly status: number;
  readonly body: T;
}

const USER_AGENT = 'access-tokens-cli';

export class ApiClient {
  constructor(
    private readonly session: Session,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiReply<T>> {
    const url = new URL(`${this.session.api}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.session.jwt}`,
      accept: 'application/json',
      'user-agent': USER_AGENT,
    };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      throw new CliError(`cannot reach the API at ${this.session.api}${cause}`);
    }
    const text = await response.text();
    const body = parseJson(text);
    if (response.ok) return { status: response.status, body: body as T };
    const error = errorOf(body);
    if (response.status === 401) {
      throw new NotSignedInError(`The API refused the session (${error?.message ?? 'Unauthorized'})`);
    }
    if (error === null) {
      throw new ApiError(
        response.status,
        `HTTP_${response.status}`,
        text.slice(0, 200) || response.statusText,
      );
    }
    throw new ApiError(response.status, error.code, error.message, error.details);
  }
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly details: readonly { readonly path: string; readonly message: string }[];
}

function errorOf(body: unknown): ErrorBody | null {
  if (typeof body !== 'object' || body === null || !('error' in body)) return null;
  const { error } = body as { error: unknown };
  if (typeof error !== 'object' || error === null) return null;
  const { code, message, details } = error as { code?: unknown; message?: unknown; details?: unknown };
  if (typeof code !== 'string' || typeof message !== 'string') return null;
  const list = Array.isArray(details)
    ? details.flatMap((detail: unknown) => {
        if (typeof detail !== 'object' || detail === null) return [];
        const { path, message: text } = detail as { path?: unknown; message?: unknown };
        return typeof text === 'string'
          ? [{ path: typeof path === 'string' ? path : '', message: text }]
          : [];
      })
    : [];
  return { code, message, details: list };
}
