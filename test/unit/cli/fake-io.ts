import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from '../../../cli/io.js';

// An in-process CliIo for the CLI's unit tests: output captured, fetch answered by a script, a
// temporary XDG_CONFIG_HOME, sleep immediate.

export interface Recorded {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  readonly body: unknown;
}

type FakeRoute = (request: Recorded) => { status: number; body?: unknown } | undefined;

interface FakeIo extends CliIo {
  readonly out: () => string;
  readonly err: () => string;
  readonly requests: Recorded[];
}

export function fakeIo(
  options: { route?: FakeRoute; env?: NodeJS.ProcessEnv; stdin?: string; fetch?: typeof fetch } = {},
): FakeIo {
  let out = '';
  let err = '';
  const requests: Recorded[] = [];
  const configHome = mkdtempSync(join(tmpdir(), 'cli-config-'));
  const scripted: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const text = typeof init?.body === 'string' ? init.body : undefined;
    const request: Recorded = {
      method: init?.method ?? 'GET',
      url,
      headers: new Headers(init?.headers),
      body: text === undefined ? undefined : JSON.parse(text),
    };
    requests.push(request);
    const answer = options.route?.(request) ?? {
      status: 404,
      body: { error: { code: 'NOT_FOUND', message: 'No such route' } },
    };
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'content-type': 'application/json' },
    });
  };
  return {
    env: { XDG_CONFIG_HOME: configHome, ...options.env },
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
    readStdin: async () => options.stdin ?? '',
    stdinIsTty: false,
    fetch: options.fetch ?? scripted,
    now: Date.now,
    sleep: async () => undefined,
    openUrl: async () => false,
    out: () => out,
    err: () => err,
    requests,
  };
}

/** An unsigned JWT with these claims: the CLI only reads `exp`, the API verifies. */
export function jwtWith(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.c2ln`;
}

/** Environment for a signed-in CLI against a fake API. */
export function signedInEnv(): NodeJS.ProcessEnv {
  return {
    ACCESS_TOKENS_API: 'https://api.example.test/v1',
    ACCESS_TOKENS_JWT: jwtWith({ sub: 'user-1', exp: Math.floor(Date.now() / 1000) + 3600 }),
  };
}
