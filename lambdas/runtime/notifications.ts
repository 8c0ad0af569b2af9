import { SESClient } from '@aws-sdk/client-ses';
import { SesMailer } from '../adapters/ses-mailer.js';
import { parseMaxSendRate, SesSendRate } from '../adapters/ses-send-rate.js';
import { ENV, optionalEnv, requireEnv } from './env.js';
import { logger } from './logger.js';
import { sdkClientConfig } from './sdk-options.js';

// Wiring shared by the notifier and the reminder job: one SES client per container (timeouts from
// sdk-options.ts), the mailer, and SES's send rate to pace to.

let sesClient: SESClient | undefined;

function sharedSesClient(): SESClient {
  sesClient ??= new SESClient(sdkClientConfig());
  return sesClient;
}

export function mailerFromEnv(env: NodeJS.ProcessEnv = process.env): SesMailer {
  return new SesMailer(sharedSesClient(), {
    senderAddress: requireEnv(ENV.notificationSenderAddress, env),
  });
}

export function sendRateFromEnv(env: NodeJS.ProcessEnv = process.env): SesSendRate {
  const configured = parseMaxSendRate(
    optionalEnv(ENV.notificationMaxSendRate, env),
    ENV.notificationMaxSendRate,
  );
  return new SesSendRate(sharedSesClient(), {
    ...(configured === undefined ? {} : { configured }),
    onLookupFailed: (error) =>
      logger.warn('could not read SES send quota; pacing at 1 email per second for now', {
        errorName: error instanceof Error ? error.name : typeof error,
      }),
  });
}
