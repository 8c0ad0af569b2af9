import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lambdas/runtime/env.js';
import type { AccessTokensStack } from '../../lib/access-tokens-stack.js';
import type { ServiceFunction } from '../../lib/constructs/service-function.js';
import { LOCAL_FUNCTION_ENVIRONMENTS } from '../../local/function-environments.js';
import { scaled } from '../support/time.js';
import { logicalIdOf, synthesize, WITH_EMAILS } from './helpers.js';

// The local stack gives each function the application variables its deployed function gets
// (local/function-environments.ts): the routes' lists are derived from lib/function-entries.ts, the
// other functions' are written out by hand there. This holds both to the synthesized template, so
// a variable added to a construct and not to the local list (or the other way round) fails here.

/** Deployed-only variables the local stack leaves out on purpose, per function. */
const DEPLOYED_ONLY: Readonly<Record<string, readonly string[]>> = {
  // The rest of a large revoke-all runs in-process locally instead of through the queue.
  revokeAllTokens: [ENV.revokeAllQueueUrl],
};
/** Local-only variables, per function. */
const LOCAL_ONLY: Readonly<Record<string, readonly string[]>> = {
  // The SES emulator has no send quota to read: the local notifier is given its rate.
  notifier: [ENV.notificationMaxSendRate],
};

/**
 * The local stack's dev identity provider is an OIDC issuer, so the JWT authorizer's variables are
 * compared with a deployment on an OIDC provider (with Cognito it gets the user pool's instead).
 */
const OIDC = { identityProvider: 'oidc', oidcIssuer: 'https://id.example.com', oidcAudience: 'api' };

const APPLICATION_VARIABLES = new Set<string>(Object.values(ENV));

let template: Template;
let stack: AccessTokensStack;
let oidcTemplate: Template;
let oidcStack: AccessTokensStack;

beforeAll(() => {
  const synth = synthesize({ context: WITH_EMAILS });
  template = synth.template;
  stack = synth.stack;
  const oidc = synthesize({ context: { ...WITH_EMAILS, ...OIDC } });
  oidcTemplate = oidc.template;
  oidcStack = oidc.stack;
}, scaled(240_000));

function deployedFunction(name: string): ServiceFunction | undefined {
  const route = stack.managementFunctions.byRoute.get(name as never);
  if (route !== undefined) return route;
  switch (name) {
    case 'tokenAuthorizer':
      return stack.tokenAuthorizer;
    case 'jwtAuthorizer':
      return oidcStack.jwtAuthorizer;
    case 'notifier':
      return stack.notifications?.notifier;
    case 'expiryLedger':
      return stack.expiryLedger.ledger;
    default:
      return undefined;
  }
}

function applicationVariablesOf(fn: ServiceFunction, from: Template): string[] {
  const resource = from.findResources('AWS::Lambda::Function')[logicalIdOf(fn.function)];
  const variables = Object.keys(resource?.Properties?.Environment?.Variables ?? {});
  return variables.filter((name) => APPLICATION_VARIABLES.has(name)).sort();
}

describe('local function environments', () => {
  const specs = LOCAL_FUNCTION_ENVIRONMENTS.filter((spec) => spec.name !== 'demoApi');

  it.each(specs.map((spec) => [spec.name, spec] as const))(
    '%s gets locally the application variables it is deployed with',
    (name, spec) => {
      const fn = deployedFunction(name);
      expect(fn, `no deployed function for ${name}`).toBeDefined();
      if (fn === undefined) return;
      const deployed = applicationVariablesOf(fn, name === 'jwtAuthorizer' ? oidcTemplate : template).filter(
        (variable) => !DEPLOYED_ONLY[name]?.includes(variable),
      );
      const local = spec.variables.filter((variable) => !LOCAL_ONLY[name]?.includes(variable));
      expect([...local].sort()).toEqual(deployed);
    },
  );

  it('covers every management route and the stream consumers', () => {
    const names = new Set(LOCAL_FUNCTION_ENVIRONMENTS.map((spec) => spec.name));
    for (const route of stack.managementFunctions.byRoute.keys()) expect(names).toContain(route);
    for (const name of ['tokenAuthorizer', 'jwtAuthorizer', 'notifier', 'expiryLedger']) {
      expect(names).toContain(name);
    }
  });
});
