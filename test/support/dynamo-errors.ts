import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';

/**
 * The error DynamoDB gives a cancelled TransactWriteItems: one cancellation reason code per item of
 * the transaction, in order (`None` for the items that did not fail), with DynamoDB's own message.
 */
export function transactionCanceled(codes: readonly string[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}
