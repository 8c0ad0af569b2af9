import { describe, expect, it } from 'vitest';
import { readProxyResult } from '../../../local/proxy-response.js';

describe('reading a Lambda proxy result', () => {
  it('merges headers and multiValueHeaders, the same pair once', () => {
    const response = readProxyResult({
      statusCode: 201,
      headers: { 'Content-Type': 'text/plain', 'X-A': '1', 'X-B': 'b' },
      multiValueHeaders: { 'x-a': ['1', '2'], 'Set-Cookie': ['a=1', 'b=2'] },
      body: 'hi',
    });
    expect(response?.statusCode).toBe(201);
    expect(response?.headers).toEqual({
      'content-type': ['text/plain'],
      'x-a': ['1', '2'],
      'x-b': ['b'],
      'set-cookie': ['a=1', 'b=2'],
    });
    expect(response?.body.toString()).toBe('hi');
  });

  it('decodes a base64 body and defaults the content type to JSON', () => {
    const response = readProxyResult({
      statusCode: 200,
      body: Buffer.from('{"a":1}').toString('base64'),
      isBase64Encoded: true,
    });
    expect(response?.body.toString()).toBe('{"a":1}');
    expect(response?.headers['content-type']).toEqual(['application/json']);
    expect(readProxyResult({ statusCode: 204 })?.body.length).toBe(0);
  });

  it.each([
    ['no statusCode', { body: '' }],
    ['a string status', { statusCode: '200' }],
    ['an object body', { statusCode: 200, body: { a: 1 } }],
    ['an object header value', { statusCode: 200, headers: { a: { b: 1 } } }],
    ['a non-list multi-value header', { statusCode: 200, multiValueHeaders: { a: 'b' } }],
    ['not an object', 'ok'],
  ])('%s is malformed (502)', (_, result) => {
    expect(readProxyResult(result)).toBeUndefined();
  });
});
