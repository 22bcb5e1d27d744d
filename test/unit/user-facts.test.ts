import { describe, expect, it } from 'vitest';
import { UserFactsCache, type FactRow } from '../../src/db/user-facts.js';

const fact = (seq: number): FactRow => ({ seq, type: 'consent.choice_recorded', data: { choice: 'granted', surface: 'web' }, at: seq * 1000 });

describe('the users\' facts cache', () => {
  it('keeps nothing read before the first settling was heard of', () => {
    const cache = new UserFactsCache();
    const mark = cache.mark();
    cache.set('u', [fact(1)], mark);
    expect(cache.get('u')).toBeUndefined();
    cache.changed(5n, null);
    cache.set('u', [fact(1)], mark);
    expect(cache.get('u')).toBeUndefined();
    cache.set('u', [fact(1)], cache.mark());
    expect(cache.get('u')).toEqual([fact(1)]);
  });

  it('forgets the users a settling names, and keeps the others', () => {
    const cache = new UserFactsCache();
    cache.changed(5n, null);
    cache.set('u', [fact(1)], cache.mark());
    cache.set('v', [fact(2)], cache.mark());
    cache.changed(9n, ['u']);
    expect(cache.get('u')).toBeUndefined();
    expect(cache.get('v')).toEqual([fact(2)]);
    cache.changed(10n, null);
    expect(cache.get('v')).toBeUndefined();
  });

  it('does not keep a read that began before a change of its user was heard of', () => {
    const cache = new UserFactsCache();
    cache.changed(5n, null);
    const mark = cache.mark();
    // The user's facts change at revision 7 while the read is in flight; it may or may not have seen it.
    cache.changed(8n, ['u']);
    cache.set('u', [fact(1)], mark);
    expect(cache.get('u')).toBeUndefined();
    // Another user's read from the same moment is complete: nothing of theirs changed.
    cache.set('v', [fact(2)], mark);
    expect(cache.get('v')).toEqual([fact(2)]);
    // A read that began once the change was heard of saw it.
    cache.set('u', [fact(1), fact(7)], cache.mark());
    expect(cache.get('u')).toEqual([fact(1), fact(7)]);
  });

  it('after forgetting everyone, does not keep reads that began before', () => {
    const cache = new UserFactsCache();
    cache.changed(5n, []);
    const mark = cache.mark();
    cache.changed(8n, null);
    cache.set('u', [fact(1)], mark);
    expect(cache.get('u')).toBeUndefined();
  });

  it('is bounded: the oldest entries go first, and so does the memory of who changed', () => {
    const cache = new UserFactsCache(10);
    cache.changed(1n, null);
    for (let i = 0; i < 25; i++) cache.set(`u${i}`, [fact(i)], cache.mark());
    expect(cache.size).toBeLessThanOrEqual(10);
    expect(cache.get('u24')).toEqual([fact(24)]);
    expect(cache.get('u0')).toBeUndefined();

    const mark = cache.mark();
    // More changed users than the cache remembers: reads from before are not kept, whoever they were for.
    cache.changed(2n, Array.from({ length: 11 }, (_, i) => `c${i}`));
    cache.set('fresh-user', [fact(3)], mark);
    expect(cache.get('fresh-user')).toBeUndefined();
    cache.set('fresh-user', [fact(3)], cache.mark());
    expect(cache.get('fresh-user')).toEqual([fact(3)]);
  });
});
