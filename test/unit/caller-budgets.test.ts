import { describe, expect, it } from 'vitest';
import { CallerBudgets } from '../../src/http/plugins/protection.js';

describe('CallerBudgets', () => {
  it("gives each caller its budget per window, says when it starts again, and starts every budget anew with the next window", () => {
    const budgets = new CallerBudgets(3, 10_000);
    const t0 = 1_000_000;
    expect([1, 2, 3].map(() => budgets.take('a', t0))).toEqual([0, 0, 0]);
    expect(budgets.take('a', t0 + 2_500)).toBe(8);
    expect(budgets.take('b', t0 + 2_500)).toBe(0);
    expect(budgets.take('a', t0 + 9_999)).toBe(1);
    expect(budgets.take('a', t0 + 10_000)).toBe(0);
  });

  it('holds at most its bound of callers: past it, every budget starts again', () => {
    const budgets = new CallerBudgets(1, 60_000, 4);
    const t = 5_000;
    expect(budgets.take('a', t)).toBe(0);
    expect(budgets.take('a', t)).toBeGreaterThan(0);
    for (const caller of ['b', 'c', 'd']) expect(budgets.take(caller, t)).toBe(0);
    // A fifth caller in the window: the four counters are dropped, 'a' may go on again.
    expect(budgets.take('e', t)).toBe(0);
    expect(budgets.take('a', t)).toBe(0);
    expect((budgets as unknown as { counts: Map<string, number> }).counts.size).toBeLessThanOrEqual(4);
  });
});
