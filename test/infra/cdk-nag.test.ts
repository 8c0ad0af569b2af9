import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { AccessTokensStack } from '../../lib/access-tokens-stack.js';
import { loadDeploymentConfig } from '../../lib/config.js';
import { cdkJsonContext } from './helpers.js';

// cdk-nag v3 is a validation plugin: at synth it reports every finding that no
// `Validations.of(construct).acknowledge(...)` covers, and a report with findings (errors or
// warnings) fails the synth. Bundling is skipped: the checks read the construct tree only.

function appWithChecks(): App {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return app;
}

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

function acknowledgementsIn(app: App): Acknowledgement[] {
  return app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id,
          reason,
        })),
      ),
  );
}

describe.each([
  ['default (Cognito, demo API)', {}],
  [
    'OIDC, no demo API',
    { identityProvider: 'oidc', oidcIssuer: 'https://id.example.com', oidcAudience: 'api', demoApi: false },
  ],
])('AWS Solutions and Serverless checks: %s', (_name, context) => {
  it('report no unacknowledged error or warning, and the synth succeeds', () => {
    const app = appWithChecks();
    new AccessTokensStack(app, 'AccessTokens', {
      config: loadDeploymentConfig({ ...cdkJsonContext(), ...context }),
    });

    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      const report = pack.validateScope(app);
      expect(
        report.violations.map(
          (violation) =>
            `${violation.ruleName} ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`,
        ),
      ).toEqual([]);
    }
    expect(() => app.synth()).not.toThrow();

    for (const acknowledgement of acknowledgementsIn(app)) {
      // Narrow: on a resource (never the stack or the app), each with a reason a reviewer can judge.
      expect(acknowledgement.path.split('/').length, acknowledgement.id).toBeGreaterThan(2);
      expect(acknowledgement.reason.length, acknowledgement.id).toBeGreaterThan(60);
      // IAM wildcard findings are acknowledged one finding at a time.
      if (acknowledgement.id.includes('IAM5') || acknowledgement.id.includes('IAM4')) {
        expect(acknowledgement.id).toMatch(/\[(Resource|Action|Policy)::.+\]$/);
      }
    }
    // A cold synth with both packs takes 35-50 s on a loaded 2-core machine.
  }, 180_000);
});

describe('an unacknowledged finding', () => {
  it('fails the synth', () => {
    const app = appWithChecks();
    const stack = new Stack(app, 'Bad');
    new iam.Role(stack, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess')],
    });

    expect(() => app.synth()).toThrow(/AwsSolutions-IAM4/);
  });
});
