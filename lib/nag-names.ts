import { type Stack, Token } from 'aws-cdk-lib';

// cdk-nag names a resource in a finding's id as the template has it: a pseudo parameter
// (`<AWS::Region>`) in an environment-agnostic stack, the literal value in a stack with a concrete
// environment (the stacks of a multi-Region deployment, README "Several Regions"). An
// acknowledgement that names a Region or an account must follow, or it acknowledges nothing.

/** The stack's Region as a cdk-nag finding id writes it. */
export function nagRegionOf(stack: Stack): string {
  return Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
}

/** The stack's account as a cdk-nag finding id writes it. */
export function nagAccountOf(stack: Stack): string {
  return Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
}
