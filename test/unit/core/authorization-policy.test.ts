import { describe, expect, it } from 'vitest';
import {
  allowedResources,
  allowPolicy,
  denyAllPolicy,
  parseMethodArn,
} from '../../../lambdas/core/gateway-policy.js';
import { evaluatePolicy, methodArn } from '../../support/authorizer-events.js';

const STAGE_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/test';
const ALL_METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'];

describe('parseMethodArn', () => {
  it('splits the sample ARN', () => {
    expect(parseMethodArn('arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request')).toEqual({
      apiStageArn: STAGE_ARN,
      apiId: 'abcdef123',
      stage: 'test',
      method: 'GET',
      path: '/request',
    });
  });

  it('keeps colons and slashes inside the path, reads the root, keeps the partition', () => {
    expect(parseMethodArn(`${STAGE_ARN}/POST/demo/a:b/c`)?.path).toBe('/demo/a:b/c');
    expect(parseMethodArn(`${STAGE_ARN}/GET/`)?.path).toBe('/');
    expect(parseMethodArn(`${STAGE_ARN}/GET`)?.path).toBe('/');
    expect(parseMethodArn('arn:aws-cn:execute-api:cn-north-1:1:api/prod/GET/x')?.apiStageArn).toBe(
      'arn:aws-cn:execute-api:cn-north-1:1:api/prod',
    );
  });

  it('refuses what is not an execute-api method ARN', () => {
    for (const arn of [
      '',
      'arn:aws:s3:::bucket/key',
      `${STAGE_ARN}`,
      'arn:aws:execute-api:r:a:api',
      'nope',
    ]) {
      expect(parseMethodArn(arn)).toBeUndefined();
    }
  });
});

describe('allowedResources', () => {
  it('lists read methods for :read and write methods for :write, on the area and below it', () => {
    expect(allowedResources(STAGE_ARN, '/demo', ['content:read']).sort()).toEqual(
      ['GET', 'HEAD', 'OPTIONS']
        .flatMap((m) => [`${STAGE_ARN}/${m}/demo/content`, `${STAGE_ARN}/${m}/demo/content/*`])
        .sort(),
    );
    expect(allowedResources(STAGE_ARN, '', ['reports:write']).sort()).toEqual(
      ['POST', 'PUT', 'PATCH', 'DELETE']
        .flatMap((m) => [`${STAGE_ARN}/${m}/reports`, `${STAGE_ARN}/${m}/reports/*`])
        .sort(),
    );
  });

  it('ignores anything that is not a scope: no wildcard can be smuggled in through an area', () => {
    expect(
      allowedResources(STAGE_ARN, '', ['*:read', 'content:*', 'con*:read', 'x', 'Content:read', 'a/b:read']),
    ).toEqual([]);
  });

  it('is exact under IAM evaluation: allows what the scopes allow and nothing else', () => {
    const policy = {
      policyDocument: allowPolicy(
        STAGE_ARN,
        allowedResources(STAGE_ARN, '/demo', ['content:read', 'reports:write']),
      ),
    };
    for (const method of ALL_METHODS) {
      for (const area of ['content', 'reports', 'products']) {
        for (const path of [`/demo/${area}`, `/demo/${area}/x`, `/demo/${area}/x/y/z`]) {
          const allowed =
            (area === 'content' && ['GET', 'HEAD', 'OPTIONS'].includes(method)) ||
            (area === 'reports' && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method));
          expect(evaluatePolicy(policy, methodArn(method, path)), `${method} ${path}`).toBe(
            allowed ? 'allow' : 'implicit-deny',
          );
        }
      }
      for (const path of ['/demo', '/demo/contents', '/content', '/demo/contentx/y', '/other/demo/content']) {
        expect(evaluatePolicy(policy, methodArn(method, path)), `${method} ${path}`).toBe('implicit-deny');
      }
      expect(evaluatePolicy(policy, methodArn(method, '/demo/content', REST_OTHER_API))).toBe(
        'implicit-deny',
      );
    }
  });

  it('denies everything explicitly when the scopes allow nothing', () => {
    const policy = { policyDocument: allowPolicy(STAGE_ARN, []) };
    expect(policy.policyDocument).toEqual(denyAllPolicy(STAGE_ARN));
    expect(evaluatePolicy(policy, methodArn('GET', '/demo/content'))).toBe('explicit-deny');
  });
});

const REST_OTHER_API = 'otherapi99';
