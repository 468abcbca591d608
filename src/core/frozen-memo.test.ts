import { describe, expect, it } from 'vitest';
import { FrozenMemo } from './frozen-memo.js';

describe('FrozenMemo', () => {
  it('computes once per frozen object and key, every time for anything else', () => {
    const memo = new FrozenMemo<number>();
    let computed = 0;
    const compute = () => ++computed;
    const frozen = Object.freeze({ url: 'http://a' });
    expect(memo.get(frozen, 'k', compute)).toBe(1);
    expect(memo.get(frozen, 'k', compute)).toBe(1);
    // Another key for the same object replaces the remembered value.
    expect(memo.get(frozen, 'other', compute)).toBe(2);
    expect(memo.get(frozen, 'k', compute)).toBe(3);
    const open = { url: 'http://a' };
    expect(memo.get(open, 'k', compute)).toBe(4);
    expect(memo.get(open, 'k', compute)).toBe(5);
  });
});
