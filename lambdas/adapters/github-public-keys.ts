import { z } from 'zod';
import type { GithubPublicKeys } from '../core/leaks-signature.js';

// GitHub's secret scanning public keys (https://api.github.com/meta/public_keys/secret_scanning by
// default; the `leaksPublicKeysUrl` setting), fetched with the global fetch and kept for the
// container's life. A key id that is not among them makes one refetch (GitHub may have added a key),
// at most once per REFETCH_INTERVAL_MS however many unknown ids arrive: a flood of made-up key ids
// costs GitHub's API (rate limited) one call a minute. Concurrent lookups share one fetch.

const keysDocumentSchema = z.object({
  public_keys: z.array(
    z.object({ key_identifier: z.string(), key: z.string(), is_current: z.boolean().optional() }).loose(),
  ),
});

export const REFETCH_INTERVAL_MS = 60_000;
/** Ends a fetch that hangs: the request's 401 or 500 comes well before API Gateway's 29 s. */
const FETCH_TIMEOUT_MS = 5_000;

interface GithubPublicKeysOptions {
  /** @default the global fetch */
  readonly fetch?: typeof fetch;
  /** @default Date.now */
  readonly now?: () => number;
}

export class HttpGithubPublicKeys implements GithubPublicKeys {
  private keys: ReadonlyMap<string, string> | undefined;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<ReadonlyMap<string, string>> | undefined;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;

  constructor(
    private readonly url: string,
    options: GithubPublicKeysOptions = {},
  ) {
    this.fetchFn = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
  }

  async keyFor(keyId: string): Promise<string | undefined> {
    const known = this.keys?.get(keyId);
    if (known !== undefined) return known;
    if (this.inFlight !== undefined) return (await this.inFlight).get(keyId);
    if (this.now() - this.fetchedAt < REFETCH_INTERVAL_MS) {
      // The last fetch failed: a 500 (GitHub delivers again later), not a 401 (a verdict on the report).
      if (this.keys === undefined) throw new Error('GitHub public keys unavailable (the last fetch failed)');
      return undefined;
    }
    return (await this.refresh()).get(keyId);
  }

  private refresh(): Promise<ReadonlyMap<string, string>> {
    this.inFlight ??= this.load().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async load(): Promise<ReadonlyMap<string, string>> {
    // Counted from the attempt, so a failing endpoint is not asked again at once either.
    this.fetchedAt = this.now();
    const response = await this.fetchFn(this.url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`GitHub public keys: HTTP ${response.status}`);
    const document = keysDocumentSchema.parse(await response.json());
    this.keys = new Map(document.public_keys.map((entry) => [entry.key_identifier, entry.key]));
    return this.keys;
  }
}
