import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/audit/canonical-json.js';
import { GENESIS_HASH, hashEvent, verifyChains, type AuditEvent } from '../../src/audit/hash.js';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], '\u20ac': 0, '\r': 1, '1': 2 })).toBe('{"\\r":1,"1":2,"a":[true,null,"x"],"b":1,"\u20ac":0}');
  });

  it('serializes numbers as ECMAScript does', () => {
    expect(canonicalJson([1e21, 1e-7, -0, 0.1 + 0.2, 333333333.3333333])).toBe('[1e+21,1e-7,0,0.30000000000000004,333333333.3333333]');
  });

  it('escapes strings as JSON.stringify does', () => {
    expect(canonicalJson('\u0000\u001f"\\\u2028')).toBe('"\\u0000\\u001f\\"\\\\\u2028"');
  });

  it('is independent of key insertion order and parses back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const s = canonicalJson(v);
        expect(canonicalJson(JSON.parse(s))).toBe(s);
      }),
    );
  });
});

describe('hash chain', () => {
  const base = (revision: string, prevHash: string): Omit<AuditEvent, 'hash'> => ({
    revision,
    eventId: `e${revision}`,
    type: 'consent.choice_recorded',
    userId: 'u',
    data: { choice: 'granted', surface: 'web' },
    actor: { sub: 's', kind: 'service' },
    occurredAt: '2026-01-01T00:00:00.000Z',
    requestId: 'r',
    prevHash,
  });

  it('hashes the canonical JSON of the event without its hash', () => {
    const e = base('1', GENESIS_HASH);
    expect(hashEvent(e)).toBe(createHash('sha256').update(canonicalJson(e)).digest('hex'));
  });

  it('verifies a chain and finds a changed event', () => {
    const first = { ...base('1', GENESIS_HASH), hash: '' };
    first.hash = hashEvent(first);
    const second = { ...base('2', first.hash), hash: '' };
    second.hash = hashEvent(second);
    expect(verifyChains([first, second])).toEqual([]);
    const tampered = { ...second, data: { choice: 'denied', surface: 'web' } };
    expect(verifyChains([first, tampered])).toEqual([{ revision: '2', problem: 'hash_mismatch' }]);
    expect(verifyChains([second])).toEqual([{ revision: '2', problem: 'prev_hash_mismatch' }]);
  });
});
