import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type ApiStage,
  type IncomingRequest,
  proxyEvent,
  requestAuthorizerEvent,
} from '../../../local/events.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/aws-events/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
const keysOf = (value: unknown) => Object.keys(value as Record<string, unknown>).sort();

const API: ApiStage = { apiId: 'local', stage: 'local', stageVariables: null };
const REQUEST: IncomingRequest = {
  method: 'GET',
  path: '/tokens/tok_1',
  rawHeaders: [
    'Authorization',
    'Bearer x',
    'Accept',
    'a',
    'accept-language',
    'en',
    'X-Multi',
    '1',
    'X-Multi',
    '2',
  ],
  query: [
    ['status', 'active'],
    ['tag', 'a'],
    ['tag', 'b'],
  ],
  body: null,
  sourceIp: '127.0.0.1',
  requestId: 'req-1',
  receivedAt: Date.parse('2021-08-20T14:36:50Z'),
  domainName: '127.0.0.1:4010',
  port: 4010,
};
const RESOURCE = { resourcePath: '/tokens/{id}', pathParameters: { id: 'tok_1' } };

describe('events built for Lambda', () => {
  it('the proxy event has the fields of the AWS sample, headers and query both single and multi-valued', () => {
    const event = proxyEvent(API, REQUEST, RESOURCE, {
      userId: 'u',
      principalId: 'u',
      integrationLatency: 3,
    });
    const sample = fixture('rest-proxy.json');
    expect(keysOf(event).filter((key) => key !== 'version')).toEqual(
      keysOf(sample).filter((key) => key !== 'version'),
    );
    expect(event.headers).toMatchObject({
      Authorization: 'Bearer x',
      'X-Multi': '2',
      'X-Forwarded-For': '127.0.0.1',
    });
    expect(event.multiValueHeaders['X-Multi']).toEqual(['1', '2']);
    expect(event.queryStringParameters).toEqual({ status: 'active', tag: 'b' });
    expect(event.multiValueQueryStringParameters).toEqual({ status: ['active'], tag: ['a', 'b'] });
    expect(event.pathParameters).toEqual({ id: 'tok_1' });
    expect(event.requestContext).toMatchObject({
      httpMethod: 'GET',
      resourcePath: '/tokens/{id}',
      path: '/local/tokens/tok_1',
      stage: 'local',
      requestId: 'req-1',
      requestTime: '20/Aug/2021:14:36:50 +0000',
      identity: { sourceIp: '127.0.0.1', userAgent: null },
      authorizer: { userId: 'u', principalId: 'u', integrationLatency: 3 },
    });
    expect(event.isBase64Encoded).toBe(false);
  });

  it('no query string and no path parameters are null, as API Gateway sends them', () => {
    const event = proxyEvent(
      API,
      { ...REQUEST, query: [] },
      { resourcePath: '/tokens', pathParameters: {} },
      null,
    );
    expect(event.queryStringParameters).toBeNull();
    expect(event.multiValueQueryStringParameters).toBeNull();
    expect(event.pathParameters).toBeNull();
  });

  it('the REQUEST authorizer event has the fields of the AWS sample and the method ARN', () => {
    const event = requestAuthorizerEvent(API, REQUEST, RESOURCE, ['Bearer x']);
    // Plus multiValueQueryStringParameters, which the developer guide's REQUEST example shows.
    expect(keysOf(event)).toEqual(
      [...keysOf(fixture('rest-request-authorizer.json')), 'multiValueQueryStringParameters'].sort(),
    );
    expect(event.methodArn).toBe('arn:aws:execute-api:local:000000000000:local/local/GET/tokens/tok_1');
    expect(event.type).toBe('REQUEST');
    expect(event.identitySource).toBe('Bearer x');
  });

  it('the REQUEST authorizer event names the matched template, the real method and the stage variables', () => {
    const api: ApiStage = { apiId: 'demo', stage: 'local', stageVariables: { accessTokensRoutes: 'e30' } };
    const event = requestAuthorizerEvent(
      api,
      { ...REQUEST, method: 'DELETE' },
      { resourcePath: '/demo/{area}/{proxy+}', pathParameters: { area: 'reports', proxy: 'a/b' } },
      ['Bearer x'],
    );
    expect(event).toMatchObject({
      resource: '/demo/{area}/{proxy+}',
      httpMethod: 'DELETE',
      stageVariables: { accessTokensRoutes: 'e30' },
      requestContext: { resourcePath: '/demo/{area}/{proxy+}', httpMethod: 'DELETE' },
    });
  });
});
