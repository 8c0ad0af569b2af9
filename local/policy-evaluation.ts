import { matchesWildcard } from './wildcard.js';

// What API Gateway does with a REST Lambda authorizer's output: check its shape (a malformed output
// is an AuthorizerConfigurationException, 500), then evaluate the policy against the request's
// method ARN the way IAM does: an explicit Deny that matches wins; otherwise an Allow must match
// (both Action and Resource, with `*` and `?` wildcards); otherwise the request is implicitly
// denied. Both denials answer 403. The context map may hold only strings, numbers and booleans,
// which reach the integration as strings.

const INVOKE_ACTION = 'execute-api:Invoke';

export interface AuthorizerStatement {
  readonly effect: 'Allow' | 'Deny';
  readonly actions: readonly string[];
  readonly resources: readonly string[];
}

export interface AuthorizerOutput {
  readonly principalId: string;
  readonly statements: readonly AuthorizerStatement[];
  /** The context as the integration receives it: every value a string. */
  readonly context: Readonly<Record<string, string>>;
  /** The API key whose usage plan applies (apiKeySource AUTHORIZER); undefined when absent. */
  readonly usageIdentifierKey: string | undefined;
}

type PolicyVerdict = 'allow' | 'explicitDeny' | 'implicitDeny';

/** The authorizer returned something API Gateway cannot use: a 500 at the gateway. */
export class AuthorizerConfigurationError extends Error {
  constructor(detail: string) {
    super(`Invalid authorizer output: ${detail}`);
    this.name = 'AuthorizerConfigurationError';
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function stringList(value: unknown, field: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((item) => typeof item === 'string')) {
    throw new AuthorizerConfigurationError(`${field} must be a string or a non-empty list of strings`);
  }
  return list;
}

function readStatement(value: unknown): AuthorizerStatement {
  if (!isRecord(value)) throw new AuthorizerConfigurationError('a statement is not an object');
  const effect = value.Effect;
  if (effect !== 'Allow' && effect !== 'Deny') {
    throw new AuthorizerConfigurationError('Effect must be Allow or Deny');
  }
  return {
    effect,
    actions: stringList(value.Action, 'Action'),
    resources: stringList(value.Resource, 'Resource'),
  };
}

function readContext(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw new AuthorizerConfigurationError('context must be an object');
  const context: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (entry === undefined || entry === null) continue;
    if (typeof entry !== 'string' && typeof entry !== 'number' && typeof entry !== 'boolean') {
      throw new AuthorizerConfigurationError(`context.${key} must be a string, number or boolean`);
    }
    context[key] = String(entry);
  }
  return context;
}

/** Validates a REST authorizer's return value; throws AuthorizerConfigurationError when unusable. */
export function readAuthorizerOutput(output: unknown): AuthorizerOutput {
  if (!isRecord(output)) throw new AuthorizerConfigurationError('not an object');
  const { principalId, policyDocument } = output;
  if (typeof principalId !== 'string' || principalId === '') {
    throw new AuthorizerConfigurationError('principalId must be a non-empty string');
  }
  if (!isRecord(policyDocument)) throw new AuthorizerConfigurationError('policyDocument is missing');
  const rawStatements = Array.isArray(policyDocument.Statement)
    ? policyDocument.Statement
    : [policyDocument.Statement];
  const usageIdentifierKey = output.usageIdentifierKey ?? undefined;
  if (usageIdentifierKey !== undefined && typeof usageIdentifierKey !== 'string') {
    throw new AuthorizerConfigurationError('usageIdentifierKey must be a string');
  }
  return {
    principalId,
    statements: rawStatements.map(readStatement),
    context: readContext(output.context),
    usageIdentifierKey,
  };
}

function statementMatches(statement: AuthorizerStatement, methodArn: string): boolean {
  const actionMatches = statement.actions.some((action) =>
    matchesWildcard(action.toLowerCase(), INVOKE_ACTION.toLowerCase()),
  );
  return actionMatches && statement.resources.some((resource) => matchesWildcard(resource, methodArn));
}

export function evaluatePolicy(statements: readonly AuthorizerStatement[], methodArn: string): PolicyVerdict {
  const matching = statements.filter((statement) => statementMatches(statement, methodArn));
  if (matching.some((statement) => statement.effect === 'Deny')) return 'explicitDeny';
  if (matching.some((statement) => statement.effect === 'Allow')) return 'allow';
  return 'implicitDeny';
}
