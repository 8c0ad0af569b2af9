import { resolve } from 'node:path';

// The local stack's own settings, from environment variables with defaults. Everything else (token
// policy, claim names, sender address) comes from cdk.json, as deployed.

export const LOCAL_ENV = {
  gatewayPort: 'LOCAL_GATEWAY_PORT',
  dynamoDbPort: 'LOCAL_DYNAMODB_PORT',
  sesPort: 'LOCAL_SES_PORT',
  dataDir: 'LOCAL_DATA_DIR',
  revocationWindowSeconds: 'LOCAL_REVOCATION_WINDOW_SECONDS',
  /** JSON object: cdk.json `context` keys replaced for this run only (like `cdk -c`), e.g. tokenTypes. */
  cdkContext: 'LOCAL_CDK_CONTEXT',
} as const;

const LOCAL_DEFAULTS = {
  gatewayPort: 4010,
  dynamoDbPort: 8000,
  sesPort: 8005,
  dataDir: '.data',
  /** Immediate: the walkthrough's "revoke → refused" needs no waiting. */
  revocationWindowSeconds: 0,
} as const;

export interface LocalSettings {
  readonly gatewayPort: number;
  readonly dynamoDbPort: number;
  readonly sesPort: number;
  /** Absolute. */
  readonly dataDir: string;
  readonly revocationWindowSeconds: number;
  /** Whether the revocation window came from LOCAL_REVOCATION_WINDOW_SECONDS. */
  readonly revocationWindowFromEnv: boolean;
  /** LOCAL_CDK_CONTEXT: cdk.json `context` keys this run replaces; absent = cdk.json's as is. */
  readonly cdkContext?: Readonly<Record<string, unknown>>;
}

/** A setting that cannot be used; its message is one line naming the variable. */
export class LocalSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalSettingsError';
  }
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new LocalSettingsError(`${name} must be an integer from ${min} to ${max}, not "${raw}"`);
  }
  return value;
}

function cdkContextOf(env: NodeJS.ProcessEnv): { cdkContext?: Record<string, unknown> } {
  const raw = env[LOCAL_ENV.cdkContext]?.trim();
  if (raw === undefined || raw === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new LocalSettingsError(`${LOCAL_ENV.cdkContext} must be a JSON object of cdk.json context keys`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new LocalSettingsError(`${LOCAL_ENV.cdkContext} must be a JSON object of cdk.json context keys`);
  }
  return { cdkContext: parsed as Record<string, unknown> };
}

export function localSettingsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): LocalSettings {
  const windowRaw = env[LOCAL_ENV.revocationWindowSeconds]?.trim();
  const settings: LocalSettings = {
    gatewayPort: integer(env, LOCAL_ENV.gatewayPort, LOCAL_DEFAULTS.gatewayPort, 1, 65535),
    dynamoDbPort: integer(env, LOCAL_ENV.dynamoDbPort, LOCAL_DEFAULTS.dynamoDbPort, 1, 65535),
    sesPort: integer(env, LOCAL_ENV.sesPort, LOCAL_DEFAULTS.sesPort, 1, 65535),
    dataDir: resolve(cwd, env[LOCAL_ENV.dataDir]?.trim() || LOCAL_DEFAULTS.dataDir),
    revocationWindowSeconds: integer(
      env,
      LOCAL_ENV.revocationWindowSeconds,
      LOCAL_DEFAULTS.revocationWindowSeconds,
      0,
      3600,
    ),
    revocationWindowFromEnv: windowRaw !== undefined && windowRaw !== '',
    ...cdkContextOf(env),
  };
  const ports = [
    [LOCAL_ENV.gatewayPort, settings.gatewayPort],
    [LOCAL_ENV.dynamoDbPort, settings.dynamoDbPort],
    [LOCAL_ENV.sesPort, settings.sesPort],
  ] as const;
  for (const [index, [name, port]] of ports.entries()) {
    const clash = ports.slice(0, index).find(([, other]) => other === port);
    if (clash !== undefined) {
      throw new LocalSettingsError(`${name} and ${clash[0]} are both ${port}: give each a different port`);
    }
  }
  return settings;
}
