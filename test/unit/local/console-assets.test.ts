import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { consoleAssets, initialJavaScript } from '../../../local/console-assets.js';

// What the local gateway answers for the web console when no API route matched
// (local/console-assets.ts): its config, its hashed files, index.html for the app's own pages, and
// nothing outside console/dist.

const root = mkdtempSync(join(tmpdir(), 'atk-console-assets-'));
const dist = join(root, 'console', 'dist');
mkdirSync(join(dist, 'assets'), { recursive: true });
writeFileSync(
  join(dist, 'index.html'),
  '<script type="module" crossorigin src="/assets/index-abc.js"></script><link rel="modulepreload" crossorigin href="/assets/vendor-def.js">',
);
writeFileSync(join(dist, 'assets', 'index-abc.js'), 'console.log("app");'.repeat(50));
writeFileSync(join(dist, 'assets', 'vendor-def.js'), 'export const x = 1;');
writeFileSync(join(root, 'console', 'secret.txt'), 'not served');
const serve = consoleAssets(root, 'http://127.0.0.1:4010');
const html = 'text/html,application/xhtml+xml';

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the console on the local gateway', () => {
  it('serves /config.json for local sign-in, against the gateway itself', () => {
    const answer = serve({ method: 'GET', path: '/config.json', accept: undefined });
    expect(answer?.statusCode).toBe(200);
    expect(JSON.parse(String(answer?.body))).toEqual({
      apiUrl: 'http://127.0.0.1:4010',
      auth: { kind: 'local' },
    });
  });

  it('serves index.html for any page the browser asks for, with a CSP that forbids inline script', () => {
    for (const path of ['/', '/token/tok_x', '/admin/audit', '/sign-in']) {
      const answer = serve({ method: 'GET', path, accept: html });
      expect(answer?.statusCode, path).toBe(200);
      expect(String(answer?.body)).toContain('/assets/index-abc.js');
      expect(answer?.headers['content-security-policy']).toContain("script-src 'self';");
      expect(answer?.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    }
  });

  it('leaves non-HTML requests, other methods and anything outside dist/assets to the gateway (404)', () => {
    expect(serve({ method: 'GET', path: '/nowhere', accept: 'application/json' })).toBeUndefined();
    expect(serve({ method: 'POST', path: '/', accept: html })).toBeUndefined();
    expect(serve({ method: 'GET', path: '/assets/missing.js', accept: undefined })).toBeUndefined();
    expect(serve({ method: 'GET', path: '/assets/../../secret.txt', accept: undefined })).toBeUndefined();
    expect(
      serve({ method: 'GET', path: '/assets/%2e%2e/%2e%2e/secret.txt', accept: undefined }),
    ).toBeUndefined();
  });

  it('serves the hashed files with their type, cached for good', () => {
    const answer = serve({ method: 'GET', path: '/assets/index-abc.js', accept: '*/*' });
    expect(answer?.statusCode).toBe(200);
    expect(answer?.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(answer?.headers['cache-control']).toContain('immutable');
  });

  it('counts the entry script and its module preloads as the initial JavaScript', () => {
    const { files, gzipBytes } = initialJavaScript(root);
    expect(files).toEqual(['assets/index-abc.js', 'assets/vendor-def.js']);
    expect(gzipBytes).toBeGreaterThan(0);
    expect(gzipBytes).toBeLessThan(200);
  });
});
