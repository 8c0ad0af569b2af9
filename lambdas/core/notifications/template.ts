import { type ActorRelation, daysUntilExpiry, type TokenEvent, type TokenEventKind } from './events.js';

// The one template of every notification email: subject, text body and HTML body per event kind.
// What a token email may carry: its name, id and hint, what happened and when, who did it and from
// where. Never a secret (the notifier never has one), never the secret's hash. Everything that comes
// from users (the name, the user agent, the address) is stripped of control characters in the
// subject and the text, and HTML-escaped in the HTML.

export interface RenderedEmail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface TemplateOptions {
  /** The product name in subjects and signatures. @default 'Access Tokens' */
  readonly productName?: string;
}

const DEFAULT_PRODUCT_NAME = 'Access Tokens';
const SUBJECT_NAME_LIMIT = 60;
const DETAIL_LIMIT = 300;

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** One line of plain text: control characters (newlines included) become spaces, runs collapse. */
export function plainLine(value: string, limit = DETAIL_LIMIT): string {
  const line = value
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return line.length <= limit ? line : `${line.slice(0, limit - 1)}…`;
}

/** `2026-11-23 09:44 UTC`; the input as is if it is not a time. */
export function formatTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return plainLine(iso);
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const WHAT_HAPPENED: Record<TokenEventKind, string> = {
  created: 'Created',
  rotated: 'Rotated (new secret)',
  revoked: 'Revoked',
  expired: 'Expired',
  reminder: 'Expires soon',
};

function subjectOf(event: TokenEvent, name: string): string {
  const quoted = `"${plainLine(name, SUBJECT_NAME_LIMIT)}"`;
  switch (event.kind) {
    case 'created':
      return `New access token ${quoted} created`;
    case 'rotated':
      return `Access token ${quoted} was rotated`;
    case 'revoked':
      return event.leak === undefined
        ? `Access token ${quoted} was revoked`
        : `Access token ${quoted} was found in public and revoked`;
    case 'expired':
      return `Access token ${quoted} has expired`;
    case 'reminder': {
      const days = daysUntilExpiry(event) ?? 0;
      return `Access token ${quoted} expires in ${days} day${days === 1 ? '' : 's'}`;
    }
  }
}

/** How long a leak's URL may be in an email (GitHub's blob URLs are long, but not this long). */
const URL_LIMIT = 500;

/** Who reported a leak, as the owner reads it. */
function reporterOf(event: TokenEvent): string {
  if (event.leak?.reportedBy === 'secret-scanning') return 'GitHub secret scanning';
  return event.actor === 'owner' ? 'you' : 'a user of your account';
}

/** What to do after a leak: the token is already revoked, the secret is public for good. */
const LEAK_ADVICE =
  'What to do next: create a new token (or ask for one) and update the systems that used this one; ' +
  'remove the secret from where it was published, and from the history of that repository, page or package ' +
  '(removing it does not make it secret again, which is why it was revoked); ' +
  'check the audit trail and the logs of your services for use of this token you do not recognise, ' +
  'and tell your administrator if you find any. Keep secrets out of code: use a secret store or environment variables.';

function byWhom(actor: ActorRelation): string {
  return actor === 'administrator' ? 'An administrator' : 'You';
}

/** The opening sentences, as plain text (the caller escapes them for HTML). */
function leadOf(event: TokenEvent, name: string): string[] {
  const quoted = `"${plainLine(name)}"`;
  const who = byWhom(event.actor);
  const expiry = event.token.expiresAt === null ? undefined : formatTime(event.token.expiresAt);
  switch (event.kind) {
    case 'created':
      return [
        event.actor === 'administrator'
          ? `An administrator created the access token ${quoted} for your account.`
          : `You created the access token ${quoted}.`,
        expiry === undefined ? 'It does not expire.' : `It expires on ${expiry}.`,
      ];
    case 'rotated':
      return [
        `${who} rotated the access token ${quoted}: it has a new secret.`,
        'The previous secret stops working at once, or at the end of the grace period chosen when it was rotated.',
      ];
    case 'revoked':
      if (event.leak !== undefined) {
        const where = event.leak.url === undefined ? '' : ` at ${plainLine(event.leak.url, URL_LIMIT)}`;
        return [
          `Your access token ${quoted} was found in public${where}, reported by ${reporterOf(event)}.`,
          'It has been revoked: it no longer works, and it cannot be turned back on.',
        ];
      }
      return [
        event.bulk
          ? `${who} revoked all your access tokens at once ("revoke all"), including ${quoted}.`
          : `${who} revoked the access token ${quoted}.`,
        'It no longer works, and it cannot be turned back on.',
      ];
    case 'expired':
      return [
        `Your access token ${quoted} expired on ${formatTime(event.occurredAt)}.`,
        'It no longer works.',
      ];
    case 'reminder': {
      const days = daysUntilExpiry(event) ?? 0;
      return [
        `Your access token ${quoted} expires on ${expiry ?? 'its expiry date'}, in ${days} day${days === 1 ? '' : 's'}.`,
        'After that, requests that use it will be refused.',
      ];
    }
  }
}

/** What to do, in particular if it was not you. */
function adviceOf(event: TokenEvent): string {
  switch (event.kind) {
    case 'created':
    case 'rotated':
      return event.actor === 'administrator'
        ? 'An administrator of your account did this. If you did not expect it, ask your administrator, and revoke the token if you do not need it.'
        : 'If this was not you, someone may be using your account: revoke this token now, change your password and tell your administrator.';
    case 'revoked':
      if (event.leak !== undefined) return LEAK_ADVICE;
      return event.actor === 'administrator'
        ? 'If you did not expect this, contact your administrator. Systems that used this token need a new one.'
        : 'If this was not you, someone may be using your account: change your password and tell your administrator. Systems that used this token need a new one.';
    case 'expired':
      return 'If you still need access, create a new token and update the systems that used this one. An expired token cannot be used by anyone, so nothing else needs doing.';
    case 'reminder':
      return 'To keep access without interruption, create a new token (or rotate this one) before then and update the systems that use it. If you no longer need it, do nothing: it stops working on its own. If you do not recognise this token, revoke it and tell your administrator.';
  }
}

export interface Detail {
  readonly label: string;
  readonly value: string;
}

function detailsOf(event: TokenEvent): Detail[] {
  const { token } = event;
  const details: Detail[] = [
    { label: 'Token', value: plainLine(token.name) },
    { label: 'Token id', value: token.id },
    { label: 'Hint', value: `${plainLine(token.hint, 40)} (the secret's prefix and last four characters)` },
    { label: 'What happened', value: WHAT_HAPPENED[event.kind] },
    {
      label: event.kind === 'reminder' ? 'Expires' : 'When',
      value: formatTime(event.kind === 'reminder' ? (token.expiresAt ?? event.occurredAt) : event.occurredAt),
    },
  ];
  if (event.leak !== undefined) {
    details.push({ label: 'Reported by', value: reporterOf(event) });
    if (event.leak.url !== undefined) {
      details.push({ label: 'Found at', value: plainLine(event.leak.url, URL_LIMIT) });
    }
    if (event.leak.source !== undefined) {
      details.push({ label: 'Found in', value: plainLine(event.leak.source, 200) });
    }
  } else if (event.actor !== 'system') details.push({ label: 'By', value: byWhom(event.actor) });
  if (event.sourceIp !== undefined && event.sourceIp !== '') {
    details.push({ label: 'From IP address', value: plainLine(event.sourceIp, 64) });
  }
  if (event.userAgent !== undefined && event.userAgent !== '') {
    details.push({ label: 'User agent', value: plainLine(event.userAgent, 200) });
  }
  if (event.kind === 'created' || event.kind === 'rotated') {
    details.push({
      label: 'Expires',
      value: token.expiresAt === null ? 'never' : formatTime(token.expiresAt),
    });
  }
  return details;
}

const FOOTER =
  'You receive this email because you own this access token. It never contains a token secret, and nobody will ever ask you for one.';

/** The parts of an email, as plain text; renderLayout builds the text and HTML bodies from them. */
interface EmailParts {
  /** Without the `[product]` prefix. */
  readonly subject: string;
  readonly lead: readonly string[];
  readonly details: readonly Detail[];
  /** A list of lines after the details (e.g. the tokens of a revoke-all). */
  readonly list?: readonly string[];
  readonly advice: string;
  readonly footer?: string;
}

function productNameOf(options: TemplateOptions): string {
  return plainLine(options.productName ?? DEFAULT_PRODUCT_NAME, 60);
}

/** The one layout of every notification email: lead, details table, list, advice, footer. */
export function renderLayout(parts: EmailParts, options: TemplateOptions = {}): RenderedEmail {
  const product = productNameOf(options);
  const subject = `[${product}] ${parts.subject}`;
  const { lead, details, advice } = parts;
  const list = parts.list ?? [];
  const footer = parts.footer ?? FOOTER;
  const width = Math.max(0, ...details.map((detail) => detail.label.length));

  const text = [
    lead.join(' '),
    '',
    ...details.map((detail) => `${`${detail.label}:`.padEnd(width + 2)}${detail.value}`),
    ...(list.length === 0 ? [] : ['', ...list.map((line) => `- ${line}`)]),
    '',
    advice,
    '',
    '-- ',
    `${product}. ${footer}`,
    '',
  ].join('\n');

  const rows = details
    .map(
      (detail) =>
        `<tr><th align="left" style="padding:4px 16px 4px 0;font-weight:600;vertical-align:top">${escapeHtml(detail.label)}</th><td style="padding:4px 0">${escapeHtml(detail.value)}</td></tr>`,
    )
    .join('');
  const html = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(subject)}</title></head>`,
    '<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;color:#1f2328">',
    `<p>${escapeHtml(lead.join(' '))}</p>`,
    `<table role="presentation" style="border-collapse:collapse">${rows}</table>`,
    ...(list.length === 0 ? [] : [`<ul>${list.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>`]),
    `<p><strong>${escapeHtml(advice)}</strong></p>`,
    `<p style="color:#59636e;font-size:13px">${escapeHtml(product)}. ${escapeHtml(footer)}</p>`,
    '</body></html>',
  ].join('\n');

  return { subject, text, html };
}

export function renderEmail(event: TokenEvent, options: TemplateOptions = {}): RenderedEmail {
  return renderLayout(
    {
      subject: subjectOf(event, event.token.name),
      lead: leadOf(event, event.token.name),
      details: detailsOf(event),
      advice: adviceOf(event),
    },
    options,
  );
}
