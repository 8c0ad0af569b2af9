import { gatewayCacheTtlSeconds } from '../lambdas/core/settings.js';
import type { LocalComponent } from './components.js';
import { consoleAssets } from './console-assets.js';
import { DEV_AUDIENCE, DevIdentityProvider, loadOrCreateSigningKey } from './dev-identity.js';
import { PortInUseError } from './emulators.js';
import { loadFunctions } from './functions.js';
import { startGateway } from './gateway.js';
import { gatewayRoutes } from './gateway-routes.js';
import { devIssuerOf } from './handler-environment.js';
import { LOCAL_ENV } from './settings.js';

// The gateway with everything behind it: the handler modules (imported now, after the handler
// environment is set), the dev identity provider, the emulated API Gateway, and the web console.

export const gatewayComponent: LocalComponent = {
  name: 'gateway',
  async start(context) {
    const identity = new DevIdentityProvider(loadOrCreateSigningKey(context.paths.devIdentityKey), {
      issuer: devIssuerOf(context.urls.gateway),
      audience: DEV_AUDIENCE,
      claims: {
        accountId: context.config.accountIdClaim,
        role: context.config.roleClaim,
        email: context.config.emailClaim,
      },
    });
    const functions = await loadFunctions(context.rootDir);
    const routes = gatewayRoutes({
      functions,
      identity,
      // API Gateway caches for what the authorizer's in-process cache leaves of the window.
      revocationWindowSeconds: gatewayCacheTtlSeconds(context.policy),
      demoApi: context.config.demoApi,
      apiGateway: context.apiGateway,
      log: context.log,
    });
    try {
      return await startGateway({
        port: context.settings.gatewayPort,
        routes,
        log: context.log,
        // The web console and its /config.json, behind the API routes (local/console-assets.ts).
        fallback: consoleAssets(context.rootDir, context.urls.gateway),
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new PortInUseError(context.settings.gatewayPort, LOCAL_ENV.gatewayPort);
      }
      throw error;
    }
  },
};
