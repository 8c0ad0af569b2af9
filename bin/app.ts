import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { type DeploymentConfig, loadDeploymentConfig } from '../lib/config.js';
import { addDeployment } from '../lib/edge-stack.js';

// `cdk synth` / `cdk deploy`: the settings come from cdk.json context (`-c key=value` overrides)
// and are validated before anything is built. The stack is environment-agnostic and does no
// lookups, so synth works offline. With `-c 'regions=[...]'` (README "Several Regions") the home
// stack goes to the first Region and an edge stack to each other (lib/edge-stack.ts), in the
// account of the CLI's credentials when there are any (still no lookup: synth stays offline). cdk-nag's AWS Solutions checks run as a validation plugin: any
// finding that is not acknowledged (with a reason, next to the resource) fails the synth.

const app = new App();

let config: DeploymentConfig;
try {
  config = loadDeploymentConfig(app.node.getAllContext());
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}

addDeployment(app, 'AccessTokens', config, {
  account: process.env.CDK_DEFAULT_ACCOUNT,
  description: 'Access Tokens: self-hosted API access tokens (management API, token authorizer)',
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
