import type { APIGatewayProxyEvent } from 'aws-lambda';
import { githubLeakReportSchema, MAX_GITHUB_REPORT_BYTES } from '../contract/leak-schemas.js';
import { capText, MAX_SOURCE_IP_LENGTH, MAX_USER_AGENT_LENGTH } from '../core/audit.js';
import { PayloadTooLargeError, UnauthorizedError, ValidationError } from '../core/errors.js';
import { handleGithubReport } from '../core/leaks.js';
import { KEY_ID_HEADER, SIGNATURE_HEADER, verifyGithubReport } from '../core/leaks-signature.js';
import { leakDepsOf, type ManagementDeps } from '../http/management-deps.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';
import { parseInput } from '../http/validation.js';
import { logger } from '../runtime/logger.js';

// POST /leaks/github: GitHub's secret scanning partner alerts (docs/leaks.md). Public in the route
// table: GitHub signs each report, and this route checks the signature over the raw body before it
// reads a byte of it as JSON. Any failure of that check is the same 401 and touches nothing.

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A header's value, any case; undefined when absent or given several different values. */
function headerOf(event: APIGatewayProxyEvent, name: string): string | undefined {
  const values = new Set<string>();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name && typeof value === 'string') values.add(value);
  }
  for (const [key, list] of Object.entries(event.multiValueHeaders ?? {})) {
    if (key.toLowerCase() !== name || !Array.isArray(list)) continue;
    for (const value of list) if (typeof value === 'string') values.add(value);
  }
  return values.size === 1 ? [...values][0] : undefined;
}

/**
 * The body's bytes as GitHub sent them. API Gateway hands a text body over as a string (decoded
 * from UTF-8, which round-trips byte for byte for any UTF-8 body) and a binary one as base64.
 */
function rawBodyBytes(event: APIGatewayProxyEvent): Buffer {
  const body = event.body;
  if (typeof body !== 'string' || body === '') return Buffer.alloc(0);
  if (body.length > Math.ceil(MAX_GITHUB_REPORT_BYTES / 3) * 4 + 4) throw tooLarge();
  const bytes = event.isBase64Encoded === true ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  if (bytes.length > MAX_GITHUB_REPORT_BYTES) throw tooLarge();
  return bytes;
}

const tooLarge = () => new PayloadTooLargeError(`A report may be at most ${MAX_GITHUB_REPORT_BYTES} bytes`);

export function reportLeaksRoute(
  deps: Pick<ManagementDeps, 'tokens' | 'credentials' | 'hmacKey' | 'githubKeys' | 'settings' | 'clock'>,
): RouteHandler {
  const leakDeps = leakDepsOf(deps);
  return routeHandler('reportLeaks', async ({ event }) => {
    const body = rawBodyBytes(event);
    const verdict = await verifyGithubReport(
      deps.githubKeys,
      { keyId: headerOf(event, KEY_ID_HEADER), signature: headerOf(event, SIGNATURE_HEADER) },
      body,
    );
    if (verdict !== 'ok') {
      logger.warn('secret scanning report refused', { reason: verdict });
      throw new UnauthorizedError('The report is not signed by GitHub');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(utf8.decode(body));
    } catch {
      throw new ValidationError('The report is not a JSON array');
    }
    const matches = parseInput(githubLeakReportSchema, parsed, 'report');
    const identity = event.requestContext?.identity;
    const result = await handleGithubReport(
      leakDeps,
      {
        kind: 'secret-scanning',
        sourceIp: nonEmpty(identity?.sourceIp, MAX_SOURCE_IP_LENGTH),
        userAgent: nonEmpty(identity?.userAgent, MAX_USER_AGENT_LENGTH),
      },
      matches,
    );
    // Counts and token ids only: never a reported string.
    logger.info('secret scanning report', {
      matches: matches.length,
      revokedTokenIds: result.revokedTokenIds,
      truePositives: result.feedback.filter((entry) => entry.label === 'true_positive').length,
    });
    return { statusCode: 200, body: result.feedback };
  });
}

const nonEmpty = (value: string | null | undefined, max: number) =>
  typeof value === 'string' && value !== '' ? capText(value, max) : undefined;
