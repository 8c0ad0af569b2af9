import { buildOpenApiDocument } from '../contract/openapi.js';
import { routeHandler } from '../http/route-handler.js';

const document = buildOpenApiDocument();

export const handler = routeHandler('getOpenApi', async () => ({
  statusCode: 200,
  body: document,
  headers: { 'cache-control': 'public, max-age=300' },
}));
