import { GetSendQuotaCommand, type SESClient } from '@aws-sdk/client-ses';
import type { SendRateSource } from '../core/notifications/pacing.js';

// SES's maximum send rate for the account (emails per second, GetSendQuota), looked up once and
// kept for an hour per container; a configured rate replaces the lookup. When the lookup fails,
// the sandbox's rate (1 per second, the lowest SES has) is used until the next attempt: slow, but
// never throttled.

const FALLBACK_SEND_RATE = 1;

interface SesSendRateOptions {
  /** Emails per second; when set, SES is not asked. */
  readonly configured?: number;
  /** @default one hour */
  readonly cacheMs?: number;
  /** After a failed lookup, how long until the next. @default 5 minutes */
  readonly retryMs?: number;
  readonly nowMs?: () => number;
  readonly onLookupFailed?: (error: unknown) => void;
}

export class SesSendRate implements SendRateSource {
  private cached: { readonly rate: number; readonly untilMs: number } | undefined;
  private lookup: Promise<number> | undefined;

  constructor(
    private readonly client: SESClient,
    private readonly options: SesSendRateOptions = {},
  ) {}

  async maxSendRate(): Promise<number> {
    const { configured } = this.options;
    if (configured !== undefined) return configured;
    const now = (this.options.nowMs ?? Date.now)();
    if (this.cached !== undefined && now < this.cached.untilMs) return this.cached.rate;
    this.lookup ??= this.ask(now).finally(() => {
      this.lookup = undefined;
    });
    return this.lookup;
  }

  private async ask(now: number): Promise<number> {
    try {
      const { MaxSendRate } = await this.client.send(new GetSendQuotaCommand({}));
      if (MaxSendRate === undefined || !(MaxSendRate > 0))
        throw new Error('GetSendQuota gave no MaxSendRate');
      this.cached = { rate: MaxSendRate, untilMs: now + (this.options.cacheMs ?? 3_600_000) };
      return MaxSendRate;
    } catch (error) {
      this.options.onLookupFailed?.(error);
      this.cached = { rate: FALLBACK_SEND_RATE, untilMs: now + (this.options.retryMs ?? 300_000) };
      return FALLBACK_SEND_RATE;
    }
  }
}

/** NOTIFICATION_MAX_SEND_RATE: a positive number of emails per second, or unset (ask SES). */
export function parseMaxSendRate(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const rate = Number(raw);
  if (!Number.isFinite(rate) || rate <= 0 || rate > 100_000) {
    throw new Error(`${name} must be a positive number of emails per second, got "${raw}"`);
  }
  return rate;
}
