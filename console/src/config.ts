import * as z from 'zod/mini';

// What the console reads at start from `/config.json` (same origin as the page). `npm start` serves
// `{apiUrl: <gateway>, auth: {kind: 'local'}}`; a deployment writes it next to the app with the
// management API's URL and its OIDC issuer (Cognito: https://cognito-idp.<region>.amazonaws.com/<poolId>).
// zod/mini keeps this check a few hundred bytes of the bundle.

const localAuth = z.object({ kind: z.literal('local') });
const oidcAuth = z.object({
  kind: z.literal('oidc'),
  authority: z.string().check(z.url()),
  clientId: z.string().check(z.minLength(1)),
  scope: z.optional(z.string()),
  signOutUrl: z.optional(z.string().check(z.url())),
});

export const consoleConfigSchema = z.object({
  /** The management API's base URL, no trailing slash. */
  apiUrl: z.string().check(z.url()),
  auth: z.discriminatedUnion('kind', [localAuth, oidcAuth]),
});
export type ConsoleConfig = z.infer<typeof consoleConfigSchema>;
export type OidcAuthConfig = z.infer<typeof oidcAuth>;

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`/config.json answered ${response.status}`);
  const parsed = consoleConfigSchema.safeParse(await response.json());
  if (!parsed.success)
    throw new Error(`/config.json is not a console configuration: ${parsed.error.message}`);
  return { ...parsed.data, apiUrl: parsed.data.apiUrl.replace(/\/+$/, '') };
}
