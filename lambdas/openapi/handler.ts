import { getOpenApiRoute } from './route.js';

export const handler = getOpenApiRoute();
