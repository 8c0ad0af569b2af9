import { buildOpenApiDocument } from '../contract/openapi.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';

/** GET /openapi.json: the document, built once per handler. It needs no port. */
export function getOpenApiRoute(): RouteHandler {
  const document = buildOpenApiDocument();
  return routeHandler('getOpenApi', async () => ({
    statusCode: 200,
    body: document,
    headers: { 'cache-control': 'public, max-age=300' },
  }));
}
