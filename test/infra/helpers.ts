import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AccessTokensStack } from '../../lib/access-tokens-stack.js';
import { type DeploymentConfig, loadDeploymentConfig } from '../../lib/config.js';
import { logicalIdOf } from '../../lib/logical-id.js';
import { repoPath } from '../../lib/paths.js';

// One synth per deployment configuration and worker: the infra project runs its files in shared
// workers (vitest.config.ts, `isolate: false`), and synthesize() hands every file that asks for the
// same configuration the same synthesized stack (assertions only read it). Bundling (esbuild for
// every function, the slow part) is off unless a test reads the bundled code.

/** The context of cdk.json, as `cdk synth` would pass it. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson: unknown = JSON.parse(readFileSync(repoPath('cdk.json'), 'utf8'));
  if (typeof cdkJson !== 'object' || cdkJson === null || !('context' in cdkJson)) {
    throw new Error('cdk.json has no context');
  }
  const { context } = cdkJson;
  if (typeof context !== 'object' || context === null) throw new Error('cdk.json context is not an object');
  return { ...context };
}

/**
 * A sender on a domain identity: the deploy command of the README (`-c senderAddress=...`), which
 * turns emails on. cdk.json as shipped has none, and deploys without emails.
 */
export const WITH_EMAILS = {
  senderAddress: 'tokens@mail.example.com',
  sesIdentity: 'mail.example.com',
} as const;

/**
 * The context an app gets in tests: cdk.json's (its settings and its pinned feature flags, as
 * `cdk synth` passes them), then the test's own, then no bundling unless asked for.
 */
export function appContext(context: Record<string, unknown> = {}, bundle = false): Record<string, unknown> {
  return {
    ...cdkJsonContext(),
    ...context,
    // CDK's own switch: no stack is bundled when the list is empty.
    ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
  };
}

interface SynthOptions {
  /** Context on top of cdk.json's. */
  readonly context?: Record<string, unknown>;
  /** Run esbuild for every function (slow; never shared); otherwise CDK skips bundling. @default false */
  readonly bundle?: boolean;
  /** @default 'AccessTokens' */
  readonly stackName?: string;
  /** Build an app of its own instead of the worker's shared synth (for tests that read annotations). @default false */
  readonly fresh?: boolean;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: AccessTokensStack;
  readonly config: DeploymentConfig;
  readonly template: Template;
  /** The cloud assembly directory (bundled assets live here); only while the file that asked runs. */
  readonly assemblyDir: string;
}

/** Cloud assemblies of this test process, removed when it exits: no temp files left behind. */
const assemblyDirs: string[] = [];
process.once('exit', () => {
  for (const dir of assemblyDirs) rmSync(dir, { recursive: true, force: true });
});

/** One synth per configuration and worker, shared by the files that only read it (never when bundling). */
const synthesized = new Map<string, Synthesized>();

export function synthesize(options: SynthOptions = {}): Synthesized {
  const context = appContext(options.context, options.bundle === true);
  const key = JSON.stringify({ context, stackName: options.stackName });
  const unshared = options.bundle === true || options.fresh === true;
  const shared = unshared ? undefined : synthesized.get(key);
  if (shared !== undefined) return shared;
  const outdir = mkdtempSync(join(tmpdir(), 'access-tokens-cdk-'));
  assemblyDirs.push(outdir);
  const app = new App({
    outdir,
    context: appContext(options.context, options.bundle === true),
  });
  // As bin/app.ts reads it.
  const config = loadDeploymentConfig(app.node.getAllContext());
  const stack = new AccessTokensStack(app, options.stackName ?? 'AccessTokens', { config });
  const assembly = app.synth();
  const result = { app, stack, config, template: Template.fromStack(stack), assemblyDir: assembly.directory };
  if (!unshared) synthesized.set(key, result);
  return result;
}

export interface PolicyStatement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
  readonly Sid?: string;
}

/** Every statement of every identity policy attached to a role (inline or AWS::IAM::Policy). */
export function statementsOfRole(template: Template, roleLogicalId: string): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  const role = template.findResources('AWS::IAM::Role')[roleLogicalId];
  if (role === undefined) throw new Error(`no role ${roleLogicalId}`);
  for (const inline of role.Properties?.Policies ?? []) statements.push(...inline.PolicyDocument.Statement);
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const roles: unknown[] = policy.Properties.Roles ?? [];
    if (roles.some((ref) => JSON.stringify(ref) === JSON.stringify({ Ref: roleLogicalId }))) {
      statements.push(...policy.Properties.PolicyDocument.Statement);
    }
  }
  return statements;
}

export function actionsOf(statements: readonly PolicyStatement[]): string[] {
  return statements.flatMap((statement) =>
    Array.isArray(statement.Action) ? statement.Action : [statement.Action],
  );
}

export function ref(construct: Parameters<typeof logicalIdOf>[0]): { Ref: string } {
  return { Ref: logicalIdOf(construct) };
}

export function arnOf(construct: Parameters<typeof logicalIdOf>[0]): { 'Fn::GetAtt': [string, string] } {
  return { 'Fn::GetAtt': [logicalIdOf(construct), 'Arn'] };
}

export { logicalIdOf };
