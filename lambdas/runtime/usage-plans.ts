import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { ApiGatewayUsagePlans } from '../adapters/api-gateway-usage-plans.js';
import type { UsagePlanGateway, UsageReader } from '../core/ports.js';
import { ENV, requireEnv } from './env.js';
import { sdkClientConfig } from './sdk-options.js';

// The usage-plan adapter of a function, from its environment (docs/rate-limits.md): one API Gateway
// client and one adapter per container, so the plan ids the adapter has looked up are remembered
// across invocations. The endpoint comes from the SDK's own configuration
// (AWS_ENDPOINT_URL_API_GATEWAY), which is how the local stack points it at its emulator.

let client: APIGatewayClient | undefined;
const adapters = new Map<string, ApiGatewayUsagePlans>();

function sharedApiGatewayClient(): APIGatewayClient {
  client ??= new APIGatewayClient(sdkClientConfig());
  return client;
}

function adapterFromEnv(env: NodeJS.ProcessEnv): ApiGatewayUsagePlans {
  const prefix = requireEnv(ENV.usagePlanPrefix, env);
  let adapter = adapters.get(prefix);
  if (adapter === undefined) {
    adapter = new ApiGatewayUsagePlans(sharedApiGatewayClient(), { planPrefix: prefix });
    adapters.set(prefix, adapter);
  }
  return adapter;
}

export function usagePlanGatewayFromEnv(env: NodeJS.ProcessEnv = process.env): UsagePlanGateway {
  return adapterFromEnv(env);
}

export function usageReaderFromEnv(env: NodeJS.ProcessEnv = process.env): UsageReader {
  return adapterFromEnv(env);
}
