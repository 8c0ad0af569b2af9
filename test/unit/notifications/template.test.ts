import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TokenEvent, TokenEventKind } from '../../../lambdas/core/notifications/events.js';
import { TOKEN_EVENT_KINDS } from '../../../lambdas/core/notifications/events.js';
import {
  escapeHtml,
  formatTime,
  plainLine,
  renderEmail,
} from '../../../lambdas/core/notifications/template.js';
import { secretScannerPattern } from '../../../lambdas/core/token-format.js';
import { emailTexts, issueToken } from './support.js';

function eventOf(kind: TokenEventKind, overrides: Partial<TokenEvent> = {}): TokenEvent {
  const { token } = issueToken({ expiresAt: '2026-07-01T12:00:00.000Z' });
  return {
    kind,
    token: {
      id: token.id,
      name: token.name,
      hint: token.hint,
      userId: token.userId,
      accountId: token.accountId,
      expiresAt: token.expiresAt,
    },
    recipient: 'owner@example.com',
    occurredAt:
      kind === 'reminder'
        ? '2026-06-26T08:00:00.000Z'
        : kind === 'expired'
          ? '2026-07-01T12:00:00.000Z'
          : '2026-06-01T09:30:12.345Z',
    actor: kind === 'expired' || kind === 'reminder' ? 'system' : 'owner',
    sourceIp: kind === 'expired' || kind === 'reminder' ? undefined : '198.51.100.7',
    userAgent: kind === 'expired' || kind === 'reminder' ? undefined : 'curl/8.5.0',
    bulk: false,
    ...overrides,
  };
}

describe('notification template', () => {
  it.each([
    ['created', 'New access token "CI deploy key" created'],
    ['rotated', 'Access token "CI deploy key" was rotated'],
    ['revoked', 'Access token "CI deploy key" was revoked'],
    ['expired', 'Access token "CI deploy key" has expired'],
    ['reminder', 'Access token "CI deploy key" expires in 6 days'],
  ] as const)('%s: subject, text and HTML say what happened', (kind, subject) => {
    const event = eventOf(kind);
    const email = renderEmail(event);
    expect(email.subject).toBe(`[Access Tokens] ${subject}`);
    for (const body of [email.text, email.html]) {
      expect(body).toContain('CI deploy key');
      expect(body).toContain(event.token.id);
      expect(body).toContain(escapeHtml(event.token.hint));
    }
    expect(email.html).toMatch(/^<!DOCTYPE html>/);
  });

  it('says when, who and from where for a change, and what to do if it was not you', () => {
    const email = renderEmail(eventOf('revoked'));
    expect(email.text).toContain('You revoked the access token "CI deploy key".');
    expect(email.text).toContain('2026-06-01 09:30 UTC');
    expect(email.text).toMatch(/By:\s+You/);
    expect(email.text).toMatch(/From IP address:\s+198\.51\.100\.7/);
    expect(email.text).toMatch(/User agent:\s+curl\/8\.5\.0/);
    expect(email.text).toContain('If this was not you');
  });

  it('says "an administrator" when someone else acted', () => {
    const email = renderEmail(eventOf('revoked', { actor: 'administrator' }));
    expect(email.text).toContain('An administrator revoked the access token');
    expect(email.text).toMatch(/By:\s+An administrator/);
    expect(email.text).toContain('contact your administrator');
  });

  it('mentions revoke-all', () => {
    expect(renderEmail(eventOf('revoked', { bulk: true })).text).toContain(
      'revoked all your access tokens at once',
    );
  });

  it('leaves out what is not known', () => {
    const email = renderEmail(eventOf('created', { sourceIp: undefined, userAgent: undefined }));
    expect(email.text).not.toContain('From IP address');
    expect(email.text).not.toContain('User agent');
    const expired = renderEmail(eventOf('expired'));
    expect(expired.text).not.toContain('By:');
    expect(expired.text).toContain('expired on 2026-07-01 12:00 UTC');
    expect(expired.text).toContain('create a new token');
  });

  it('reminds with the expiry and the days left', () => {
    const email = renderEmail(eventOf('reminder', { occurredAt: '2026-06-30T08:00:00.000Z' }));
    expect(email.subject).toContain('expires in 2 days');
    expect(email.text).toContain('expires on 2026-07-01 12:00 UTC, in 2 days');
    expect(renderEmail(eventOf('reminder', { occurredAt: '2026-07-01T08:00:00.000Z' })).subject).toContain(
      'expires in 1 day',
    );
  });

  it('escapes user-provided values in HTML and keeps them on one line elsewhere', () => {
    const name = '<script>alert("x")</script>\r\nBcc: victim@example.com';
    const email = renderEmail(
      eventOf('created', {
        token: { ...eventOf('created').token, name },
        userAgent: '<img src=x onerror=1>',
      }),
    );
    expect(email.html).not.toContain('<script>');
    expect(email.html).not.toContain('<img');
    expect(email.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(email.subject).not.toMatch(/[\r\n]/);
    expect(email.text).not.toContain('\r');
    expect(email.text).not.toMatch(/^Bcc:/m);
  });

  it('keeps long names out of the subject', () => {
    const email = renderEmail(
      eventOf('created', { token: { ...eventOf('created').token, name: 'n'.repeat(100) } }),
    );
    expect(email.subject.length).toBeLessThan(120);
    expect(email.subject).toContain('…');
  });

  it('property: no secret-shaped string and no raw markup from any name, in any kind', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TOKEN_EVENT_KINDS), fc.string({ maxLength: 100 }), (kind, name) => {
        const { secret } = issueToken();
        const event = eventOf(kind);
        const email = renderEmail({ ...event, token: { ...event.token, name } });
        expect(emailTexts(email)).not.toContain(secret);
        expect(emailTexts(email).match(secretScannerPattern('atk'))).toBeNull();
        expect(email.subject).not.toMatch(/[\p{Cc}]/u);
        const htmlWithoutTags = email.html.replace(
          /<\/?(?:!DOCTYPE html|html|head|meta|title|body|p|table|tr|th|td|strong)\b[^<>]*>/g,
          '',
        );
        expect(htmlWithoutTags).not.toMatch(/[<>]/);
      }),
    );
  });

  it('formats times and lines', () => {
    expect(formatTime('2026-06-01T09:30:12.345Z')).toBe('2026-06-01 09:30 UTC');
    expect(formatTime('not a time')).toBe('not a time');
    expect(plainLine(' a\n\tb\u0007 c ')).toBe('a b c');
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });
});
