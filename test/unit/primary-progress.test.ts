import { describe, expect, it } from 'vitest';
import { PrimaryProgress } from '../../src/db/primary-progress.js';

describe('PrimaryProgress: how far behind the primary a replica is', () => {
  it('is how long ago the primary had first settled beyond what the replica has replayed', () => {
    const p = new PrimaryProgress(10_000);
    p.seen(10n, 1_000);
    p.seen(20n, 2_000);
    p.seen(30n, 3_000);
    expect(p.lagMs(30n, 3_500)).toBe(0);
    expect(p.lagMs(25n, 3_500)).toBe(500);
    expect(p.lagMs(20n, 3_500)).toBe(500);
    expect(p.lagMs(15n, 3_500)).toBe(1_500);
    expect(p.lagMs(99n, 3_500)).toBe(0);
  });

  it('takes a replica behind the first revision seen to be further behind than any bound', () => {
    const p = new PrimaryProgress(10_000);
    expect(p.lagMs(0n, 1_000)).toBe(0);
    p.seen(10n, 1_000);
    expect(p.lagMs(9n, 1_001)).toBe(Number.POSITIVE_INFINITY);
    expect(p.lagMs(10n, 1_001)).toBe(0);
  });

  it('does not make an idle primary look ahead: nothing new settled, no lag', () => {
    const p = new PrimaryProgress(1_000);
    p.seen(5n, 0);
    p.seen(6n, 10);
    for (let t = 20; t < 100_000; t += 10) p.seen(6n, t);
    expect(p.lagMs(6n, 100_000)).toBe(0);
    expect(p.size).toBe(2);
  });

  it('keeps a window of samples, and still reads a replica behind all of them as at least the window behind', () => {
    const p = new PrimaryProgress(1_000);
    for (let i = 1; i <= 1_000; i++) p.seen(BigInt(i), i * 10);
    expect(p.size).toBeLessThanOrEqual(102);
    expect(p.lagMs(1n, 10_000)).toBeGreaterThanOrEqual(1_000);
    expect(p.lagMs(995n, 10_000)).toBe(40);
  });

  it('past maxSamples, drops the oldest and reads what it forgot as behind any bound', () => {
    const p = new PrimaryProgress(1_000_000, 100);
    for (let i = 1; i <= 250; i++) p.seen(BigInt(i), i);
    expect(p.size).toBe(100);
    expect(p.newest).toBe(250n);
    // Revisions 151 to 250 are kept; when 151 was first seen is forgotten with what came before it.
    expect(p.lagMs(150n, 300)).toBe(Number.POSITIVE_INFINITY);
    expect(p.lagMs(151n, 300)).toBe(300 - 152);
  });
});
