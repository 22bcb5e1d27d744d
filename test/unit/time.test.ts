import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { isoOrNull, isoTime } from '../../src/domain/index.js';

const YEAR_10000 = 253_402_300_800_000;

describe('isoTime: Date#toISOString, formatted without a Date', () => {
  it('matches toISOString on every whole millisecond from 1970 to 9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: YEAR_10000 - 1 }), (ms) => {
        expect(isoTime(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 20_000 },
    );
  });

  it('matches toISOString around days, leap days, months and centuries', () => {
    const edges = [
      '1970-01-01T00:00:00.000Z', '1999-12-31T23:59:59.999Z', '2000-02-29T12:00:00.000Z', '2000-03-01T00:00:00.000Z',
      '2024-02-29T23:59:59.999Z', '2025-09-28T00:00:00.000Z', '2100-02-28T23:59:59.999Z', '2100-03-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
    ];
    for (const e of edges) {
      const ms = Date.parse(e);
      for (const d of [-1, 0, 1]) expect(isoTime(ms + d)).toBe(new Date(ms + d).toISOString());
    }
  });

  it('leaves times outside its range, and fractions, to Date', () => {
    for (const ms of [-1, -86_400_001, YEAR_10000, YEAR_10000 + 1, 1.5]) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });

  it('isoOrNull keeps null', () => {
    expect(isoOrNull(null)).toBeNull();
    expect(isoOrNull(0)).toBe('1970-01-01T00:00:00.000Z');
  });
});
