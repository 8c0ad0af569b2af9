import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { z } from 'zod';
import {
  type VerifyResult,
  type verifyRequestSchema,
  verifyResultSchema,
} from '../lambdas/contract/verify-schemas.js';

// The verify API's client for services outside API Gateway (docs/verify.md): POST /verify signed with
// AWS Signature Version 4 (service `execute-api`) by the AWS SDK's own signer, with the credentials
// the service already runs with (the SDK's default chain: env, ECS/EKS task role, instance profile,
// SSO, …), answering the typed decision. Its IAM policy must allow execute-api:Invoke on the route
// (the stack's VerifyApiArn output). No retries here: a verification is on the caller's request
// path, and the caller decides what a failure means (fail closed: treat it as "not valid").

/** Credentials or a provider of them, as the AWS SDK's signer takes them. */
type SigningCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

/** What a verify call sends: the token and, optionally, the request it came with. */
export type VerifyInput = z.input<typeof verifyRequestSchema>;
export type { VerifyResult };

export interface VerifyClientOptions {
  /**
   * The management API's base URL (the stack's ManagementApiUrl output,
   * `https://<id>.execute-api.<region>.amazonaws.com/v1/`, or a custom domain's), or the local
   * stack's gateway (`http://127.0.0.1:4010`).
   */
  readonly url: string;
  /** The API's Region. Default: read from an execute-api host name (required for a custom domain). */
  readonly region?: string;
  /**
   * Who signs. Default: the AWS SDK's default credential chain. `null`: send the call unsigned,
   * which only the local stack accepts, and only from loopback.
   */
  readonly credentials?: SigningCredentials | null;
  /** Give up after this long (ms). Default 5000. */
  readonly timeoutMs?: number;
  /** For tests: the fetch to call and the signing time. */
  readonly fetch?: typeof globalThis.fetch;
  readonly now?: () => Date;
}

/** A verify call that produced no decision: `status` is the HTTP status, undefined when none came. */
export class VerifyError extends Error {
  constructor(
    message: string,
    /** The API's error code (`FORBIDDEN`, `VALIDATION_FAILED`, …), `NETWORK` or `BAD_RESPONSE`. */
    readonly code: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = 'VerifyError';
  }
}

const EXECUTE_API_HOST = /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;
const DEFAULT_TIMEOUT_MS = 5000;

/** The Region of an execute-api host name, undefined for any other host. */
export function regionOfHost(hostname: string): string | undefined {
  return EXECUTE_API_HOST.exec(hostname)?.[1];
}

export class VerifyClient {
  private readonly endpoint: URL;
  private readonly signer: SignatureV4 | undefined;
  private readonly fetch: typeof globalThis.fetch;
  private readonly timeoutMs: number;
  private readonly now: () => Date;

  constructor(options: VerifyClientOptions) {
    const base = options.url.endsWith('/') ? options.url : `${options.url}/`;
    this.endpoint = new URL('verify', base);
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.now = options.now ?? (() => new Date());
    if (options.credentials === null) {
      this.signer = undefined;
      return;
    }
    const region = options.region ?? regionOfHost(this.endpoint.hostname);
    if (region === undefined) {
      throw new Error(
        `VerifyClient: give the region for ${this.endpoint.hostname} (not an execute-api host)`,
      );
    }
    this.signer = new SignatureV4({
      service: 'execute-api',
      region,
      credentials: options.credentials ?? defaultProvider(),
      sha256: Hash.bind(null, 'sha256'),
    });
  }

  /** The decision for `input`; throws VerifyError when the API gave none. Never logs the token. */
  async verify(input: VerifyInput): Promise<VerifyResult> {
    const body = JSON.stringify(input);
    const headers = await this.headersFor(body);
    let response: Response;
    try {
      response = await this.fetch(this.endpoint, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      // The cause's name only: a fetch error's message may quote the request.
      const name = error instanceof Error ? error.name : typeof error;
      throw new VerifyError(`verify call failed (${name})`, 'NETWORK', undefined);
    }
    const text = await response.text();
    const json = parseJson(text);
    if (response.status !== 200) throw errorOf(response.status, json);
    const parsed = verifyResultSchema.safeParse(json);
    if (!parsed.success) throw new VerifyError('verify answered 200 without a decision', 'BAD_RESPONSE', 200);
    return parsed.data;
  }

  /** JSON headers, signed unless the client sends unsigned calls (the local stack). */
  private async headersFor(body: string): Promise<Record<string, string>> {
    if (this.signer === undefined) return { 'content-type': 'application/json' };
    const headers = { 'content-type': 'application/json', host: this.endpoint.host };
    const request = new HttpRequest({
      method: 'POST',
      protocol: this.endpoint.protocol,
      hostname: this.endpoint.hostname,
      ...(this.endpoint.port === '' ? {} : { port: Number(this.endpoint.port) }),
      path: this.endpoint.pathname,
      headers,
      body,
    });
    const signed = await this.signer.sign(request, { signingDate: this.now() });
    // fetch sets Host itself (and refuses it as a header): it is signed, and it is the same value.
    const { host: _host, ...rest } = signed.headers;
    return rest;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The contract's error `{error: {code, message}}` (the API's, and the gateway responses this stack
 * configures), else the status alone. 403: the signer may not call the route, or the signature is
 * wrong; 404: an unsigned call (or a wrong URL), which API Gateway answers as "no such route".
 */
function errorOf(status: number, json: unknown): VerifyError {
  const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (typeof error?.code === 'string' && typeof error.message === 'string') {
    return new VerifyError(`verify: ${status} ${error.code}: ${error.message}`, error.code, status);
  }
  const message = (json as { message?: unknown } | undefined)?.message;
  return new VerifyError(
    `verify: ${status}${typeof message === 'string' ? `: ${message}` : ''}`,
    `HTTP_${status}`,
    status,
  );
}
