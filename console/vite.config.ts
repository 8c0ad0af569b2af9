import preact from '@preact/preset-vite';
import { defineConfig, type Plugin } from 'vite';
import { MANAGEMENT_ROUTES } from '../lambdas/contract/routes.ts';

// The console: a static single-page app built into console/dist (index.html + hashed assets), served
// by `npm start`'s gateway (local/console-assets.ts) and, deployed, from S3 behind CloudFront. No
// inline script in the output, so the deployed CSP can forbid it.
//
// `npm run dev:console` (with `npm start` running) is the watch mode: Vite's dev server with hot
// reload, the management API and the dev sign-in proxied to the gateway (same origin, as served).

const gateway = `http://127.0.0.1:${process.env.LOCAL_GATEWAY_PORT ?? '4010'}`;
const apiPrefixes = [
  ...new Set(MANAGEMENT_ROUTES.map((route) => `/${route.path.split('/')[1] ?? ''}`)),
  '/_local',
  '/demo',
];

const localConfig: Plugin = {
  name: 'access-tokens-local-config',
  configureServer(server) {
    server.middlewares.use('/config.json', (request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ apiUrl: `http://${request.headers.host}`, auth: { kind: 'local' } }));
    });
  },
};

export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact(), localConfig],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
  },
  server: {
    host: '127.0.0.1',
    proxy: Object.fromEntries(apiPrefixes.map((prefix) => [`^${prefix}(/|$|\\?)`, gateway])),
  },
  logLevel: 'warn',
});
