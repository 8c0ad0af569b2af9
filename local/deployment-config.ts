import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DeploymentConfig, loadDeploymentConfig } from '../lib/config.js';

// The deployment's settings as `cdk deploy` reads them: cdk.json's `context`, validated by the same
// function the CDK app uses, so the local stack runs with the very same token policy and claims.

export function readCdkContext(rootDir: string): Record<string, unknown> {
  const path = join(rootDir, 'cdk.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`could not read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const context = typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, 'context') : undefined;
  return typeof context === 'object' && context !== null ? (context as Record<string, unknown>) : {};
}

export function deploymentConfigOf(rootDir: string): DeploymentConfig {
  return loadDeploymentConfig(readCdkContext(rootDir));
}
