// Resolves the intrinsic functions of a synthesized value the way CloudFormation would at deploy,
// for a given partition, region and account: what a value such as a Lambda permission's SourceArn
// becomes before AWS validates it. `Ref` to a resource gives a stand-in physical id (an API id,
// a stage name); `Fn::GetAtt ... Arn` a stand-in ARN of that partition, region and account.

export interface DeployEnvironment {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

/** The environment with the longest partition and region names, for worst-case sizes. */
export const LONGEST_ENVIRONMENT: DeployEnvironment = {
  partition: 'aws-us-gov',
  region: 'us-gov-west-1',
  account: '123456789012',
};

function standInId(logicalId: string): string {
  // Lower-case letters and digits, 10 characters: the shape of an API Gateway id.
  let hash = 0;
  for (const char of logicalId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash.toString(36).padStart(10, '0').slice(-10);
}

export function resolveIntrinsics(value: unknown, env: DeployEnvironment): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) {
    throw new Error(`cannot resolve ${JSON.stringify(value)}`);
  }
  const entries = Object.entries(value);
  const [name, argument] = entries[0] ?? [];
  if (entries.length !== 1 || name === undefined)
    throw new Error(`not an intrinsic: ${JSON.stringify(value)}`);
  switch (name) {
    case 'Ref':
      switch (argument) {
        case 'AWS::Partition':
          return env.partition;
        case 'AWS::Region':
          return env.region;
        case 'AWS::AccountId':
          return env.account;
        case 'AWS::URLSuffix':
          return 'amazonaws.com';
        default:
          return standInId(String(argument));
      }
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = argument as [string, string];
      if (attribute !== 'Arn') return standInId(`${logicalId}.${attribute}`);
      return `arn:${env.partition}:service:${env.region}:${env.account}:resource/${standInId(logicalId)}`;
    }
    case 'Fn::Join': {
      const [separator, parts] = argument as [string, unknown[]];
      return parts.map((part) => resolveIntrinsics(part, env)).join(separator);
    }
    default:
      throw new Error(`intrinsic ${name} is not resolved here`);
  }
}
