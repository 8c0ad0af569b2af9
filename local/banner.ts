import { LOCAL_ENV } from './settings.js';
import type { LocalStack } from './stack.js';

// What `npm start` prints once everything answers: the URLs (the web console first), the revocation window in force, and
// a walkthrough to paste into a shell (node is on the PATH of anyone running this, jq may not be).

export const READY_MARKER = 'Access Tokens local stack is ready';

const readField = (field: string) => `node -pe 'JSON.parse(fs.readFileSync(0)).${field}'`;

export function readyBanner(stack: LocalStack, elapsedMs: number): string {
  const { urls, config, context } = stack;
  const { settings, policy } = context;
  const gateway = urls.gateway;
  const scope = `${policy.scopeAreas[0] ?? 'reports'}:read`;
  const area = scope.split(':')[0] ?? 'reports';
  const expiresInDays = policy.expiryPresetsDays[0] ?? 7;
  const window = settings.revocationWindowFromEnv
    ? `${policy.revocationWindowSeconds} s (from ${LOCAL_ENV.revocationWindowSeconds})`
    : `${policy.revocationWindowSeconds} s, immediate (set ${LOCAL_ENV.revocationWindowSeconds} to emulate a cache)`;
  const session = JSON.stringify({ email: 'dev@example.com', accountId: 'acme', role: 'member' });
  const create = JSON.stringify({ name: 'my first token', scopes: [scope], expiresInDays });
  const lines = [
    `${READY_MARKER} (${(elapsedMs / 1000).toFixed(1)} s)`,
    '',
    `  Console         ${gateway}/   open in a browser: sign in, create and manage tokens`,
    `  Gateway         ${gateway}   management API, ${config.demoApi ? 'demo API /demo/{area}/..., ' : ''}dev sign-in POST /_local/session`,
    `  Verify API      ${gateway}/verify   POST, without SigV4 from loopback only (127.0.0.1, ::1; anyone else 403); deployed: IAM`,
    `  Emails (SES)    ${urls.sesEmulator}   every email sent`,
    `  DynamoDB Local  ${urls.dynamoDb}   table ${context.tableName}, data in ${settings.dataDir}`,
    '',
    `  Revocation window: ${window}.`,
    `  Deployed, it is revocationWindowSeconds from cdk.json (${config.policy.revocationWindowSeconds} s).`,
    '',
    'Try it (paste into a shell):',
    '',
    `  JWT=$(curl -s -X POST ${gateway}/_local/session -H 'content-type: application/json' -d '${session}' | ${readField('jwt')})`,
    `  SECRET=$(curl -s -X POST ${gateway}/tokens -H "authorization: Bearer $JWT" -H 'content-type: application/json' -d '${create}' | ${readField('secret')})`,
    config.demoApi
      ? `  curl -s ${gateway}/demo/${area}/hello -H "authorization: Bearer $SECRET"`
      : '  (the demo API is off: demoApi is false in cdk.json)',
    `  curl -s ${gateway}/tokens -H "authorization: Bearer $JWT"`,
    `  curl -s -X POST ${gateway}/verify -H 'content-type: application/json' -d '{"token":"'"$SECRET"'","method":"GET","path":"/${area}/hello"}'`,
    '',
    'Press Ctrl-C to stop.',
  ];
  return lines.join('\n');
}
