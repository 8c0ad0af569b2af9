import { z } from 'zod';
import type { ErrorCode } from '../core/errors.js';
import {
  ERROR_COMPONENT_ID,
  errorResponseSchema,
  ROUTE_CONTRACTS,
  type RouteContract,
  STATUS_BY_CODE,
} from './api-schemas.js';
import { MANAGEMENT_ROUTES, type RouteDefinition } from './routes.js';

// The OpenAPI 3.1 document of the management API, built from the route table and the same zod
// schemas that validate requests (zod 4's native z.toJSONSchema, draft 2020-12: the dialect of
// OpenAPI 3.1). Schemas with `.meta({ id })` become named components; request schemas are rendered
// as the input they accept, response schemas as the output they produce.

const OPENAPI_VERSION = '3.1.0';
const API_VERSION = '1.0.0';
const BEARER_SCHEME = 'bearerJwt';
const SIGV4_SCHEME = 'sigv4';

type JsonObject = Record<string, unknown>;

interface OpenApiDocument extends JsonObject {
  readonly openapi: string;
  readonly info: JsonObject;
  readonly paths: Record<string, Record<string, JsonObject>>;
  readonly components: { readonly schemas: Record<string, JsonObject>; readonly securitySchemes: JsonObject };
}

const COMPONENT_PREFIX = '#/components/schemas/';

const ERROR_DESCRIPTIONS: Record<ErrorCode, string> = {
  UNAUTHORIZED: 'no valid JWT',
  FORBIDDEN: "the caller's role may not do this (e.g. anyone but an admin raising a token's limits)",
  NOT_FOUND: 'no such token, or not one the caller may see',
  VALIDATION_FAILED: 'the request breaks the contract or the token policy (see `details`)',
  PAYLOAD_TOO_LARGE: 'the body is larger than 16 KB',
  UNSUPPORTED_MEDIA_TYPE: 'the body is not `application/json` (UTF-8)',
  LIMIT_EXCEEDED:
    "the active-token limit of the user or the account is reached, or the deployment's usage-key or limit-class budget",
  CONFLICT: 'a concurrent change, or a token that is revoked or expired and can no longer be changed',
  RATE_LIMITED: 'too many requests',
  QUOTA_EXCEEDED: "the token's quota for the period is used up (gateway)",
  TOKEN_NOT_READY: "the token's usage key is not at the gateway yet (gateway; retry in a few seconds)",
  INTERNAL: 'an internal error; the body says nothing more',
};

class ComponentCollector {
  readonly schemas: Record<string, JsonObject> = {};

  /** The schema for use inside the document: named parts moved to components, refs rewritten. */
  convert(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
    const {
      $schema: _dialect,
      $defs,
      ...root
    } = z.toJSONSchema(schema, {
      io,
      target: 'draft-2020-12',
      unrepresentable: 'any',
    }) as JsonObject;
    for (const [id, definition] of Object.entries(($defs ?? {}) as Record<string, JsonObject>)) {
      this.add(id, rewriteRefs(definition));
    }
    return rewriteRefs(root);
  }

  private add(id: string, definition: JsonObject): void {
    const existing = this.schemas[id];
    if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(definition)) {
      throw new Error(`OpenAPI component ${id} is defined twice with different content`);
    }
    this.schemas[id] = definition;
  }
}

function rewriteRefs(schema: JsonObject): JsonObject {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/$defs/', `"${COMPONENT_PREFIX}`)) as JsonObject;
}

function parametersOf(
  collector: ComponentCollector,
  schema: z.ZodType,
  location: 'query' | 'path',
): JsonObject[] {
  const json = collector.convert(schema, 'input');
  const properties = (json.properties ?? {}) as Record<string, JsonObject>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return {
      name,
      in: location,
      required: location === 'path' || required.has(name),
      ...(description === undefined ? {} : { description }),
      schema: propertySchema,
    };
  });
}

const jsonContent = (schema: JsonObject) => ({ 'application/json': { schema } });

function errorResponses(route: RouteDefinition, contract: RouteContract): Record<string, JsonObject> {
  const codes: ErrorCode[] = [
    ...(route.auth === 'public' ? [] : (['UNAUTHORIZED', 'FORBIDDEN'] as const)),
    ...contract.errors,
    'INTERNAL',
  ];
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = STATUS_BY_CODE[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, statusCodes]) => [
        String(status),
        {
          description: statusCodes.map((code) => `\`${code}\`: ${ERROR_DESCRIPTIONS[code]}`).join('; '),
          content: jsonContent({ $ref: `${COMPONENT_PREFIX}${ERROR_COMPONENT_ID}` }),
        },
      ]),
  );
}

function operationOf(collector: ComponentCollector, route: RouteDefinition): JsonObject {
  const contract: RouteContract = ROUTE_CONTRACTS[route.name as keyof typeof ROUTE_CONTRACTS];
  // A raw body (a signed one the route reads itself) is described all the same.
  const requestBody = contract.body ?? contract.rawBody;
  const parameters = [
    ...(contract.path === undefined ? [] : parametersOf(collector, contract.path, 'path')),
    ...(contract.query === undefined ? [] : parametersOf(collector, contract.query, 'query')),
  ];
  const success = Object.fromEntries(
    Object.entries(contract.responses).map(([status, schema]) => [
      status,
      schema === null
        ? { description: 'No content.' }
        : { description: 'Success.', content: jsonContent(collector.convert(schema, 'output')) },
    ]),
  );
  return {
    operationId: route.name,
    summary: route.summary,
    description: descriptionOf(route),
    ...(parameters.length === 0 ? {} : { parameters }),
    ...(requestBody === undefined
      ? {}
      : {
          requestBody: {
            required: contract.bodyOptional !== true,
            content: jsonContent(collector.convert(requestBody, 'input')),
          },
        }),
    responses: { ...success, ...errorResponses(route, contract) },
    security: securityOf(route),
  };
}

function descriptionOf(route: RouteDefinition): string {
  switch (route.auth) {
    case 'jwt':
      return `Roles: ${route.roles.join(', ')}.`;
    case 'iam':
      return 'IAM: a request signed with AWS Signature Version 4 (service `execute-api`) by a principal allowed `execute-api:Invoke` on this method; for services, not people.';
    case 'public':
      return 'Public: no authentication.';
  }
}

function securityOf(route: RouteDefinition): JsonObject[] {
  switch (route.auth) {
    case 'jwt':
      return [{ [BEARER_SCHEME]: [] }];
    case 'iam':
      return [{ [SIGV4_SCHEME]: [] }];
    case 'public':
      return [];
  }
}

export function buildOpenApiDocument(
  routes: readonly RouteDefinition[] = MANAGEMENT_ROUTES,
): OpenApiDocument {
  const collector = new ComponentCollector();
  // Every error response refers to this component.
  collector.convert(errorResponseSchema, 'output');
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const route of routes) {
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operationOf(collector, route) };
  }
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: 'Access Tokens management API',
      version: API_VERSION,
      description:
        'Create, list, read and revoke API access tokens. Errors are always `{"error": {"code", "message", "details"?}}`.',
      license: { name: 'MIT-0', identifier: 'MIT-0' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas: collector.schemas,
      securitySchemes: {
        [BEARER_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: "The product's OIDC JWT (a Cognito ID token by default).",
        },
        // OpenAPI has no SigV4 type: API Gateway's own extension on an apiKey scheme, as its exports write it.
        [SIGV4_SCHEME]: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          'x-amazon-apigateway-authtype': 'awsSigv4',
          description:
            'AWS Signature Version 4, service `execute-api` (the verify API; lib/verify-client.ts signs it).',
        },
      },
    },
  };
}
