import type { DeploymentConfig } from './config.js';

// Names and Regions of a multi-Region deployment (README "Several Regions", docs/regions.md), shared
// by the home stack, the edge stacks and the TokenAuthorizer's by-Region targeting. No aws-cdk-lib.

/** The name every replica of a deployment's global table shares: `<home stack name>-tokens`. */
export function globalTableNameOf(homeStackName: string): string {
  return `${homeStackName}-tokens`;
}

/** The name of a deployment's edge stack in a Region: `<home stack name>-<region>`. */
export function edgeStackNameOf(homeStackName: string, region: string): string {
  return `${homeStackName}-${region}`;
}

/** The Regions of a deployment: the home Region and the edge Regions, or undefined for one Region. */
export function regionsOf(
  config: Pick<DeploymentConfig, 'regions'>,
): { readonly home: string; readonly edges: readonly string[] } | undefined {
  const [home, ...edges] = config.regions ?? [];
  return home === undefined || edges.length === 0 ? undefined : { home, edges };
}
