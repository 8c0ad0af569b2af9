import { CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The CloudFormation logical id of a construct's resource, as cdk-nag names it in findings
 * (`<LogicalId.Arn>`), so that an acknowledgement can name exactly one resource.
 */
export function logicalIdOf(construct: IConstruct): string {
  const element = CfnElement.isCfnElement(construct) ? construct : construct.node.defaultChild;
  if (element === undefined || !CfnElement.isCfnElement(element)) {
    throw new Error(`${construct.node.path} is not a CloudFormation resource`);
  }
  const logicalId: unknown = Stack.of(element).resolve(element.logicalId);
  if (typeof logicalId !== 'string')
    throw new Error(`cannot resolve the logical id of ${construct.node.path}`);
  return logicalId;
}
