import { type SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import type { Mailer, OutgoingEmail } from '../core/notifications/notifier.js';

// The notifier's mailer: SES v1 SendEmail (subject, text and HTML bodies, UTF-8). The client comes
// from the handler module (lambdas/runtime/notifications.ts, with the enforced timeouts of
// lambdas/runtime/sdk-options.ts); its retries absorb short throttling within one call, and anything
// that still fails (an error, or no answer in time) is thrown for the caller to report and retry.

interface SesMailerOptions {
  /** The From address; it must belong to the SES identity the function may send from. */
  readonly senderAddress: string;
  /** SES configuration set (event publishing, suppression). @default none */
  readonly configurationSetName?: string;
}

export class SesMailer implements Mailer {
  constructor(
    private readonly client: SESClient,
    private readonly options: SesMailerOptions,
  ) {}

  async send(email: OutgoingEmail): Promise<{ messageId: string | undefined }> {
    const output = await this.client.send(
      new SendEmailCommand({
        Source: this.options.senderAddress,
        Destination: { ToAddresses: [email.to] },
        Message: {
          Subject: { Data: email.subject, Charset: 'UTF-8' },
          Body: {
            Text: { Data: email.text, Charset: 'UTF-8' },
            Html: { Data: email.html, Charset: 'UTF-8' },
          },
        },
        ...(this.options.configurationSetName === undefined
          ? {}
          : { ConfigurationSetName: this.options.configurationSetName }),
      }),
    );
    return { messageId: output.MessageId };
  }
}
