import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { scaled } from '../support/time.js';
import { synthesize } from './helpers.js';

// Settings that live in API Gateway authorizers only take effect with a new deployment of the stage.

function deploymentIds(template: Template): string[] {
  return Object.keys(template.findResources('AWS::ApiGateway::Deployment')).sort();
}

let before: string[];
let after: string[];

beforeAll(() => {
  before = deploymentIds(synthesize({ context: { revocationWindowSeconds: 60 } }).template);
  after = deploymentIds(synthesize({ context: { revocationWindowSeconds: 30 } }).template);
}, scaled(120_000));

describe('a change of the revocation window', () => {
  it('redeploys the demo API stage (its token authorizer cache TTL) and leaves the management API alone', () => {
    const demoBefore = before.filter((id) => id.startsWith('DemoApi'));
    const demoAfter = after.filter((id) => id.startsWith('DemoApi'));
    expect(demoBefore).toHaveLength(1);
    expect(demoAfter).toHaveLength(1);
    expect(demoAfter).not.toEqual(demoBefore);
    expect(after.filter((id) => id.startsWith('ManagementApi'))).toEqual(
      before.filter((id) => id.startsWith('ManagementApi')),
    );
  });
});
