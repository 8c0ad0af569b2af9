// Shared by the stream consumers (notifier, expiry ledger) and anything else that logs SDK errors.

/**
 * What a log line says about an error: its name, and for AWS service errors the HTTP status and
 * fault, but not their message (SES puts recipient addresses in some); for our own errors (a token
 * image that does not parse) the message, which names fields, not values.
 */
export function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { errorName: typeof error };
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown }; $fault?: unknown }).$metadata;
  if (metadata !== undefined) {
    return {
      errorName: error.name,
      httpStatusCode: metadata.httpStatusCode,
      fault: (error as { $fault?: unknown }).$fault,
    };
  }
  return { errorName: error.name, errorMessage: error.message.slice(0, 500) };
}
