import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTime } from '../../src/domain/time.js';
import { JsonBytes } from '../../src/services/json-bytes.js';

const written = (write: (out: JsonBytes) => void, capacity = 64): string => {
  const out = new JsonBytes(capacity);
  write(out);
  return out.written().toString('utf8');
};

describe('JsonBytes', () => {
  it('writes a time as isoTime does, quoted, from 1970 to 9999 and beyond', () => {
    const edges = [0, 1, 999, 951_782_400_000, 951_868_800_000, 1_704_067_199_999, 4_107_542_400_000, 253_402_300_799_999];
    for (const ms of edges) expect(written((o) => o.time(ms))).toBe(`"${isoTime(ms)}"`);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253_402_300_799_999 }), (ms) => written((o) => o.time(ms)) === JSON.stringify(new Date(ms).toISOString())),
      { numRuns: 5_000 },
    );
    // Five-digit years, times before 1970 and fractions of a millisecond go through isoTime.
    for (const ms of [253_402_300_800_000, -1, -86_400_000, 1.5]) expect(written((o) => o.time(ms))).toBe(JSON.stringify(isoTime(ms)));
  });

  it('writes any string as JSON.stringify does, escaped where it must be and in UTF-8', () => {
    for (const s of ['', 'chat-1', 'a"b', 'back\\slash', 'line\nbreak', '\u0000\u001f\u007f', 'café', '日本', '😀', '\ud800 lone']) {
      expect(written((o) => o.string(s))).toBe(JSON.stringify(s));
    }
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => written((o) => o.string(s)) === Buffer.from(JSON.stringify(s), 'utf8').toString('utf8')), {
      numRuns: 2_000,
    });
  });

  it('grows past the capacity it started with and keeps what it wrote', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `chat-${i}-${'x'.repeat(i % 130)}`);
    const text = written((o) => {
      o.bytes(Buffer.from('['));
      ids.forEach((id, i) => {
        if (i > 0) o.bytes(Buffer.from(','));
        o.bytes(Buffer.from('{"id":'));
        o.string(id);
        o.bytes(Buffer.from(',"at":'));
        o.time(i * 1_000_003);
        o.bytes(Buffer.from('}'));
      });
      o.bytes(Buffer.from(']'));
    }, 1);
    expect(JSON.parse(text)).toEqual(ids.map((id, i) => ({ id, at: new Date(i * 1_000_003).toISOString() })));
  });
});
