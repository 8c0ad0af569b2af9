import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capText } from '../../../lambdas/core/audit.js';

describe('capText (stored user agent and source IP)', () => {
  it('keeps short values, cuts long ones to max ending in …, never in half a surrogate pair', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 600 }),
        fc.integer({ min: 2, max: 300 }),
        (value, max) => {
          const capped = capText(value, max);
          expect(capped.length).toBeLessThanOrEqual(max);
          if (value.length <= max) {
            expect(capped).toBe(value);
            return;
          }
          expect(capped.endsWith('…')).toBe(true);
          const kept = capped.slice(0, -1);
          expect(value.startsWith(kept)).toBe(true);
          const last = kept.charCodeAt(kept.length - 1);
          expect(last >= 0xd800 && last <= 0xdbff).toBe(false);
        },
      ),
    );
  });
});
