import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/client';

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap, with jitter between half and all of it', () => {
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, {}, () => 1))).toEqual([500, 1000, 2000, 4000]);
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, {}, () => 0))).toEqual([250, 500, 1000, 2000]);
    expect(backoffDelay(50, {}, () => 1)).toBe(10_000);
    expect(backoffDelay(50, { maxMs: 3000 }, () => 0)).toBe(1500);
  });
});
