import { describe, expect, it } from 'vitest';
import { toLambdaRecord } from '../../../local/stream-poller.js';

// The local poller's record conversion: DynamoDB Streams API records → Lambda's JSON event records.

describe('toLambdaRecord', () => {
  it("converts dates to epoch seconds, binary to base64 and userIdentity to Lambda's casing", () => {
    const record = toLambdaRecord(
      {
        eventID: 'e1',
        eventName: 'REMOVE',
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: 'ddblocal',
        userIdentity: { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' },
        dynamodb: {
          ApproximateCreationDateTime: new Date('2026-11-23T10:00:00.900Z'),
          Keys: { pk: { S: 'TOKEN#1' } },
          OldImage: {
            pk: { S: 'TOKEN#1' },
            bytes: { B: new Uint8Array([255, 0]) },
            set: { BS: [new Uint8Array([1])] },
            nested: { M: { ok: { NULL: true }, tags: { SS: ['a'] }, nums: { NS: ['1'] } } },
          },
          SequenceNumber: '42',
          SizeBytes: 10,
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      },
      'arn:stream',
      'us-east-1',
    );
    expect(record).toEqual({
      eventID: 'e1',
      eventName: 'REMOVE',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'ddblocal',
      eventSourceARN: 'arn:stream',
      userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.parse('2026-11-23T10:00:00.900Z') / 1000),
        Keys: { pk: { S: 'TOKEN#1' } },
        OldImage: {
          pk: { S: 'TOKEN#1' },
          bytes: { B: '/wA=' },
          set: { BS: ['AQ=='] },
          nested: { M: { ok: { NULL: true }, tags: { SS: ['a'] }, nums: { NS: ['1'] } } },
        },
        SequenceNumber: '42',
        SizeBytes: 10,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
  });

  it('leaves userIdentity out when the record has none (a user delete)', () => {
    const record = toLambdaRecord(
      { eventName: 'REMOVE', dynamodb: { SequenceNumber: '1' } },
      'arn',
      'us-east-1',
    );
    expect('userIdentity' in record).toBe(false);
    expect(record.awsRegion).toBe('us-east-1');
  });
});
