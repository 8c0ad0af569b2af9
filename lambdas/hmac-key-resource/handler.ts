import { KmsDataKeyGenerator } from '../adapters/kms-data-key-generator.js';
import { sharedKmsClient } from '../runtime/clients.js';
import { logger } from '../runtime/logger.js';
import { createHmacKeyResourceHandler } from './resource.js';

// onEvent handler of the HMAC key custom resource (see resource.ts). Deploy-time only.
export const handler = createHmacKeyResourceHandler(new KmsDataKeyGenerator(sharedKmsClient()), logger);
