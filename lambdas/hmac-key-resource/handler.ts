import { KMSClient } from '@aws-sdk/client-kms';
import { logger } from '../runtime/logger.js';
import { sdkClientConfig } from '../runtime/sdk-options.js';
import { createHmacKeyResourceHandler } from './resource.js';

// onEvent handler of the HMAC key custom resource (see resource.ts). Deploy-time only.
export const handler = createHmacKeyResourceHandler(new KMSClient(sdkClientConfig()), logger);
