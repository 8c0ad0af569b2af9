import { Agent, request } from 'node:http';

// A small keep-alive HTTP client for the load test: one socket pool (as many sockets as workers),
// latency measured from the request to the end of the body.

export interface Reply {
  readonly status: number;
  readonly text: string;
  readonly ms: number;
}

export class HttpClient {
  private readonly agent: Agent;

  constructor(
    private readonly base: string,
    maxSockets: number,
    private readonly timeoutMs = 15_000,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  send(method: string, path: string, options: { bearer?: string; body?: unknown } = {}): Promise<Reply> {
    const url = new URL(path, this.base);
    const headers: Record<string, string> = {};
    if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const startedAt = performance.now();
    return new Promise<Reply>((resolveReply, reject) => {
      const req = request(url, { method, headers, agent: this.agent, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolveReply({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - startedAt,
          }),
        );
        res.on('error', reject);
      });
      req.on('timeout', () =>
        req.destroy(new Error(`${method} ${path}: no response in ${this.timeoutMs} ms`)),
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A string field of a JSON object body; throws with the body otherwise. */
export function stringField(reply: Reply, field: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(reply.text);
  } catch {
    throw new Error(`a body that is not JSON: ${reply.text.slice(0, 300)}`);
  }
  const value = typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, field) : undefined;
  if (typeof value !== 'string' || value === '') {
    throw new Error(`a body without ${field}: ${reply.text.slice(0, 300)}`);
  }
  return value;
}
