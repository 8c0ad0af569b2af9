import { z } from 'zod';
import { TOKEN_ID_PATTERN } from '../core/ids.js';
import { MAX_LEAK_SOURCE_LENGTH, MAX_LEAK_URL_LENGTH } from '../core/leaks.js';

// The contract of the two leak routes (docs/leaks.md): POST /leaks/github (GitHub's secret scanning
// partner format, verified by its signature) and POST /leaks (a signed-in user's report).

/** A GitHub report's body may be this large (API Gateway's limit is 10 MB; a report is small). */
export const MAX_GITHUB_REPORT_BYTES = 1024 * 1024;
/** Matches per GitHub report at most: more is a 413 (GitHub sends batches far smaller). */
const MAX_GITHUB_MATCHES = 2000;

// A match's strings are bounded so that a signed but absurd report cannot make us hash megabytes.
const boundedString = (max: number) => z.string().max(max);

const githubLeakMatchSchema = z
  .object({
    token: boundedString(1000).describe('The string that matched our pattern.'),
    type: boundedString(200).describe('The secret type name we enrolled with (docs/leaks.md).'),
    url: boundedString(8000).default('').describe('The public URL where it was found; may be empty.'),
    source: boundedString(200)
      .default('')
      .describe('Where on GitHub: `content`, `commit`, `issue_comment`, `npm`, ...'),
  })
  .meta({ id: 'GithubLeakMatch', description: 'One secret scanning match.' });

export const githubLeakReportSchema = z.array(githubLeakMatchSchema).max(MAX_GITHUB_MATCHES).meta({
  id: 'GithubLeakReport',
  description:
    "GitHub's secret scanning partner alert, signed over the raw body: headers `Github-Public-Key-Identifier` and `Github-Public-Key-Signature` (base64 DER, ECDSA P-256 SHA-256).",
});

export const githubLeakFeedbackSchema = z
  .array(
    z.object({
      token_hash: z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .describe('SHA-256 of the reported string, hex.'),
      token_type: z.string(),
      label: z
        .enum(['true_positive', 'false_positive'])
        .describe('`true_positive`: it was a working token of this deployment, now revoked.'),
    }),
  )
  .meta({
    id: 'GithubLeakFeedback',
    description: "GitHub's feedback format, one entry per match, in order.",
  });

export const reportLeakRequestSchema = z
  .object({
    token: z.string().min(1).max(1000).describe('The secret that was found. Never stored or logged.'),
    url: z
      .string()
      .max(MAX_LEAK_URL_LENGTH)
      .regex(/^[^\p{Cc}]*$/u, 'must be one line of text')
      .optional()
      .describe('Where it was found (a URL, usually).'),
    source: z
      .string()
      .max(MAX_LEAK_SOURCE_LENGTH)
      .regex(/^[^\p{Cc}]*$/u, 'must be one line of text')
      .optional()
      .describe('Free text: how or where it was found.'),
  })
  .strict()
  .meta({ id: 'ReportLeakRequest', description: 'A token found in the wild.' });

export const reportLeakResultSchema = z
  .object({
    tokenId: z.string().regex(TOKEN_ID_PATTERN),
    outcome: z
      .enum(['revoked', 'already_inactive'])
      .describe('`revoked` now, or it no longer worked (revoked or expired before): nothing changed.'),
  })
  .meta({ id: 'ReportLeakResult', description: 'What the report did.' });
