import type { PolicySettings } from '../lambdas/core/settings.js';
import type { DeploymentConfig } from '../lib/config.js';
import type { ApiGatewayEmulator } from './api-gateway-emulator.js';
import type { LocalSettings } from './settings.js';

// The local stack is a list of components started in order and stopped in reverse. Each gets the
// same context; a later one (the stream poller feeding the notifier, say) is one more entry.

export interface LocalStackUrls {
  readonly gateway: string;
  readonly sesEmulator: string;
  readonly dynamoDb: string;
}

export interface StackContext {
  readonly settings: LocalSettings;
  readonly rootDir: string;
  readonly config: DeploymentConfig;
  /** cdk.json's policy with the local revocation window: what the handlers get in POLICY_SETTINGS. */
  readonly policy: PolicySettings;
  readonly tableName: string;
  /** The emulated usage plans: served by the gateway, enforced on the demo API (local/usage-plans.ts). */
  readonly apiGateway: ApiGatewayEmulator;
  readonly urls: LocalStackUrls;
  readonly paths: {
    readonly dynamoDbData: string;
    readonly hmacKeyFile: string;
    readonly devIdentityKey: string;
  };
  readonly log: (line: string) => void;
}

export interface RunningComponent {
  stop(): Promise<void>;
}

export interface LocalComponent {
  readonly name: string;
  start(context: StackContext): Promise<RunningComponent>;
}
