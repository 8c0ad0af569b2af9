import type { IncomingMessage } from 'node:http';

// Reading a request body under API Gateway's REST payload limit (10 MB). An oversized body is
// drained (so the client can read the 413) but not kept; a client that keeps sending far past the
// limit is cut off.

const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
const MAX_DRAIN_BYTES = 8 * MAX_PAYLOAD_BYTES;

type BodyResult = { readonly kind: 'ok'; readonly body: string | null } | { readonly kind: 'tooLarge' };

export function declaredTooLarge(request: IncomingMessage, limit = MAX_PAYLOAD_BYTES): boolean {
  const declared = Number(request.headers['content-length']);
  return Number.isFinite(declared) && declared > limit;
}

export function readBody(request: IncomingMessage, limit = MAX_PAYLOAD_BYTES): Promise<BodyResult> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let tooLarge = declaredTooLarge(request, limit);
    request.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) tooLarge = true;
      if (tooLarge) {
        chunks.length = 0;
        if (received > MAX_DRAIN_BYTES) request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => {
      if (tooLarge) resolveBody({ kind: 'tooLarge' });
      else resolveBody({ kind: 'ok', body: received === 0 ? null : Buffer.concat(chunks).toString('utf8') });
    });
    request.once('error', reject);
    request.once('close', () => {
      if (!request.complete) reject(new Error('the client closed the connection mid-request'));
    });
  });
}
