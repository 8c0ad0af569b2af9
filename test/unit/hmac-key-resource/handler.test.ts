import { randomBytes } from 'node:crypto';
import { GenerateDataKeyWithoutPlaintextCommand, KMSClient } from '@aws-sdk/client-kms';
import type {
  CloudFormationCustomResourceCreateEvent,
  CloudFormationCustomResourceDeleteEvent,
  CloudFormationCustomResourceUpdateEvent,
} from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KmsDataKeyGenerator } from '../../../lambdas/adapters/kms-data-key-generator.js';
import { CURSOR_KEY_PURPOSE, HMAC_KEY_PURPOSE } from '../../../lambdas/core/key-context.js';
import type { HmacKeyResourceProperties } from '../../../lambdas/hmac-key-resource/contract.js';
import {
  createHmacKeyResourceHandler,
  parsePhysicalId,
  physicalIdFor,
} from '../../../lambdas/hmac-key-resource/resource.js';

const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const OTHER_KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321';

// Bytes that are not valid UTF-8 (lone continuation bytes, 0xff/0xfe, an unfinished sequence) and
// whose base64 holds both `+` and `/`: decoding them as text, as AwsCustomResource does, corrupts them.
const NOT_UTF8 = Buffer.concat([
  Buffer.from([0xff, 0xfe, 0xfd, 0x80, 0xc0, 0x00, 0xfb, 0xef, 0xbe, 0xff, 0xff, 0xff, 0xe2, 0x82]),
  randomBytes(170),
]);

function createEvent(
  properties: HmacKeyResourceProperties,
): CloudFormationCustomResourceCreateEvent<HmacKeyResourceProperties> {
  return {
    RequestType: 'Create',
    ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:provider',
    ResponseURL: 'https://cloudformation-custom-resource-response.example/',
    StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/AccessTokens/guid',
    RequestId: 'request-1',
    LogicalResourceId: 'HmacKeyCiphertext',
    ResourceType: 'Custom::HmacKeyCiphertext',
    ResourceProperties: {
      ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:provider',
      ...properties,
    },
  };
}

function updateEvent(
  physicalResourceId: string,
  properties: HmacKeyResourceProperties,
  oldProperties: HmacKeyResourceProperties,
): CloudFormationCustomResourceUpdateEvent<HmacKeyResourceProperties> {
  const { RequestType: _, ...common } = createEvent(properties);
  return {
    ...common,
    RequestType: 'Update',
    PhysicalResourceId: physicalResourceId,
    OldResourceProperties: oldProperties,
  };
}

function deleteEvent(
  physicalResourceId: string,
  properties: HmacKeyResourceProperties,
): CloudFormationCustomResourceDeleteEvent<HmacKeyResourceProperties> {
  const { RequestType: _, ...common } = createEvent(properties);
  return { ...common, RequestType: 'Delete', PhysicalResourceId: physicalResourceId };
}

const V1: HmacKeyResourceProperties = { KeyId: KEY_ARN, KeyVersion: 'v1' };

// One mock for the file: every KMSClient instance (the test's and the handler module's) answers from it.
const kms = mockClient(KMSClient);

afterEach(() => {
  kms.reset();
});

describe('HMAC key custom resource', () => {
  const onEvent = createHmacKeyResourceHandler(
    new KmsDataKeyGenerator(new KMSClient({ region: 'eu-west-1' })),
  );

  it('premise: the test ciphertext is not valid UTF-8, so a text round trip would corrupt it', () => {
    expect(Buffer.from(NOT_UTF8.toString('utf8'), 'utf8').equals(NOT_UTF8)).toBe(false);
    expect(NOT_UTF8.toString('base64')).toMatch(/\+/);
    expect(NOT_UTF8.toString('base64')).toMatch(/\//);
  });

  describe('Create', () => {
    it('asks KMS for an AES-256 data key without plaintext, under the purpose/version context', async () => {
      kms.on(GenerateDataKeyWithoutPlaintextCommand).resolves({ CiphertextBlob: new Uint8Array(NOT_UTF8) });

      await onEvent(createEvent(V1));

      const calls = kms.commandCalls(GenerateDataKeyWithoutPlaintextCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.args[0].input).toEqual({
        KeyId: KEY_ARN,
        KeySpec: 'AES_256',
        EncryptionContext: { purpose: HMAC_KEY_PURPOSE, keyVersion: 'v1' },
      });
    });

    it('returns the exact base64 of the ciphertext bytes, in Data and in the physical id', async () => {
      kms.on(GenerateDataKeyWithoutPlaintextCommand).resolves({ CiphertextBlob: new Uint8Array(NOT_UTF8) });

      const response = await onEvent(createEvent(V1));

      const expected = NOT_UTF8.toString('base64');
      expect(response.Data?.Ciphertext).toBe(expected);
      expect(Buffer.from(response.Data?.Ciphertext ?? '', 'base64').equals(NOT_UTF8)).toBe(true);
      expect(response.PhysicalResourceId).toBe(`hmac-key/v1/${expected}`);
      expect(response.PhysicalResourceId.length).toBeLessThanOrEqual(1024);
    });

    it('rejects when KMS fails', async () => {
      kms.on(GenerateDataKeyWithoutPlaintextCommand).rejects(new Error('AccessDeniedException'));

      await expect(onEvent(createEvent(V1))).rejects.toThrow('AccessDeniedException');
    });

    it('rejects when KMS returns no ciphertext', async () => {
      kms.on(GenerateDataKeyWithoutPlaintextCommand).resolves({});

      await expect(onEvent(createEvent(V1))).rejects.toThrow(/no ciphertext/);
    });

    it('rejects a key version that cannot be part of the physical id', async () => {
      await expect(onEvent(createEvent({ KeyId: KEY_ARN, KeyVersion: 'v/1' }))).rejects.toThrow(/KeyVersion/);
      await expect(onEvent(createEvent({ KeyId: '', KeyVersion: 'v1' }))).rejects.toThrow(/KeyId/);
      expect(kms.calls()).toHaveLength(0);
    });
  });

  describe('Update', () => {
    it('with the same key and version keeps the physical id and the byte-identical ciphertext, without KMS', async () => {
      const physicalId = physicalIdFor('v1', NOT_UTF8.toString('base64'));

      const response = await onEvent(updateEvent(physicalId, V1, V1));

      expect(kms.calls()).toHaveLength(0);
      expect(response.PhysicalResourceId).toBe(physicalId);
      expect(Buffer.from(response.Data?.Ciphertext ?? '', 'base64').equals(NOT_UTF8)).toBe(true);
    });

    it('with a new version generates a new ciphertext under the new context (a replacement)', async () => {
      const fresh = randomBytes(184);
      kms.on(GenerateDataKeyWithoutPlaintextCommand).resolves({ CiphertextBlob: new Uint8Array(fresh) });
      const oldPhysicalId = physicalIdFor('v1', NOT_UTF8.toString('base64'));

      const response = await onEvent(updateEvent(oldPhysicalId, { KeyId: KEY_ARN, KeyVersion: 'v2' }, V1));

      expect(
        kms.commandCalls(GenerateDataKeyWithoutPlaintextCommand)[0]?.args[0].input.EncryptionContext,
      ).toEqual({
        purpose: HMAC_KEY_PURPOSE,
        keyVersion: 'v2',
      });
      expect(response.PhysicalResourceId).toBe(`hmac-key/v2/${fresh.toString('base64')}`);
      expect(response.PhysicalResourceId).not.toBe(oldPhysicalId);
      expect(response.Data?.Ciphertext).toBe(fresh.toString('base64'));
    });

    it('with another KMS key generates a new ciphertext under that key', async () => {
      const fresh = randomBytes(184);
      kms.on(GenerateDataKeyWithoutPlaintextCommand).resolves({ CiphertextBlob: new Uint8Array(fresh) });

      const response = await onEvent(
        updateEvent(
          physicalIdFor('v1', NOT_UTF8.toString('base64')),
          { KeyId: OTHER_KEY_ARN, KeyVersion: 'v1' },
          V1,
        ),
      );

      expect(kms.commandCalls(GenerateDataKeyWithoutPlaintextCommand)[0]?.args[0].input.KeyId).toBe(
        OTHER_KEY_ARN,
      );
      expect(response.Data?.Ciphertext).toBe(fresh.toString('base64'));
    });

    it('refuses, rather than silently re-keying, when the physical id does not carry the ciphertext', async () => {
      await expect(onEvent(updateEvent('request-1', V1, V1))).rejects.toThrow(
        /refusing to generate a new key/,
      );
      await expect(onEvent(updateEvent(physicalIdFor('v0', 'AAAA'), V1, V1))).rejects.toThrow(
        /refusing to generate a new key/,
      );
      expect(kms.calls()).toHaveLength(0);
    });

    it('rejects when KMS fails during a replacement', async () => {
      kms.on(GenerateDataKeyWithoutPlaintextCommand).rejects(new Error('KMSInternalException'));

      await expect(
        onEvent(updateEvent(physicalIdFor('v1', 'AAAA'), { KeyId: KEY_ARN, KeyVersion: 'v2' }, V1)),
      ).rejects.toThrow('KMSInternalException');
    });
  });

  describe('Delete', () => {
    it('does nothing (the KMS key is retained) and keeps the physical id', async () => {
      const physicalId = physicalIdFor('v1', NOT_UTF8.toString('base64'));

      const response = await onEvent(deleteEvent(physicalId, V1));

      expect(response).toEqual({ PhysicalResourceId: physicalId });
      expect(kms.calls()).toHaveLength(0);
    });
  });

  it('for any ciphertext bytes, Create then Update returns the same bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), async (bytes) => {
        kms.reset();
        kms.on(GenerateDataKeyWithoutPlaintextCommand).resolves({ CiphertextBlob: bytes });
        const created = await onEvent(createEvent(V1));
        const updated = await onEvent(updateEvent(created.PhysicalResourceId, V1, V1));
        expect(updated.PhysicalResourceId).toBe(created.PhysicalResourceId);
        expect(Buffer.from(updated.Data?.Ciphertext ?? '', 'base64').equals(Buffer.from(bytes))).toBe(true);
      }),
    );
  });
});

describe('the cursor key: the same resource with KeyPurpose access-tokens-list-cursor', () => {
  const onEvent = createHmacKeyResourceHandler(
    new KmsDataKeyGenerator(new KMSClient({ region: 'eu-west-1' })),
  );
  const CURSOR: HmacKeyResourceProperties = { ...V1, KeyPurpose: CURSOR_KEY_PURPOSE };

  it('Create: a data key under the cursor context, in a cursor-key/ physical id', async () => {
    kms.on(GenerateDataKeyWithoutPlaintextCommand).resolves({ CiphertextBlob: new Uint8Array(NOT_UTF8) });
    const response = await onEvent(createEvent(CURSOR));
    expect(
      kms.commandCalls(GenerateDataKeyWithoutPlaintextCommand)[0]?.args[0].input.EncryptionContext,
    ).toEqual({ purpose: CURSOR_KEY_PURPOSE, keyVersion: 'v1' });
    expect(response.PhysicalResourceId).toBe(`cursor-key/v1/${NOT_UTF8.toString('base64')}`);
    expect(parsePhysicalId(response.PhysicalResourceId, CURSOR_KEY_PURPOSE)?.ciphertext).toBe(
      NOT_UTF8.toString('base64'),
    );
  });

  it('Update: the same purpose keeps the ciphertext; another purpose is a new key; an HMAC id is refused', async () => {
    const cursorId = physicalIdFor('v1', NOT_UTF8.toString('base64'), CURSOR_KEY_PURPOSE);
    expect((await onEvent(updateEvent(cursorId, CURSOR, CURSOR))).PhysicalResourceId).toBe(cursorId);
    expect(kms.calls()).toHaveLength(0);
    // The HMAC key's id under the cursor purpose: never silently reused or re-keyed.
    await expect(
      onEvent(updateEvent(physicalIdFor('v1', NOT_UTF8.toString('base64')), CURSOR, CURSOR)),
    ).rejects.toThrow(/refusing to generate a new key/);
    kms.on(GenerateDataKeyWithoutPlaintextCommand).resolves({ CiphertextBlob: new Uint8Array(NOT_UTF8) });
    const replaced = await onEvent(updateEvent(physicalIdFor('v1', 'AAAA'), CURSOR, V1));
    expect(replaced.PhysicalResourceId.startsWith('cursor-key/v1/')).toBe(true);
  });

  it('refuses a purpose it does not know', async () => {
    await expect(onEvent(createEvent({ ...V1, KeyPurpose: 'anything' }))).rejects.toThrow(/KeyPurpose/);
    expect(kms.calls()).toHaveLength(0);
  });
});

describe('physical id', () => {
  it('round-trips version and ciphertext, including base64 with `/`', () => {
    const ciphertext = NOT_UTF8.toString('base64');
    expect(parsePhysicalId(physicalIdFor('v1', ciphertext))).toEqual({ version: 'v1', ciphertext });
  });

  it('is undefined for ids that are not ours', () => {
    for (const id of [
      '',
      'request-1',
      'hmac-key/v1/',
      'hmac-key//AAAA',
      'other/v1/AAAA',
      'hmac-key/v1/not base64!',
    ]) {
      expect(parsePhysicalId(id)).toBeUndefined();
    }
  });
});

describe('handler module', () => {
  beforeEach(() => {
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    vi.stubEnv('AWS_REGION', 'eu-west-1');
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('exports a handler wired to a real KMS client', async () => {
    kms.on(GenerateDataKeyWithoutPlaintextCommand).resolves({ CiphertextBlob: new Uint8Array(NOT_UTF8) });
    const { handler } = await import('../../../lambdas/hmac-key-resource/handler.js');

    const response = await handler(createEvent(V1));

    expect(response.Data?.Ciphertext).toBe(NOT_UTF8.toString('base64'));
  });
});
