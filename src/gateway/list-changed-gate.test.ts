import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ListChangedGate } from './list-changed-gate.js';

describe('ListChangedGate', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const gate = () => {
    const sent: string[] = [];
    return { sent, gate: new ListChangedGate(async (kind) => void sent.push(kind), 250) };
  };

  it('folds the changes of one window into one notification at its end, per kind', () => {
    const { sent, gate: g } = gate();
    for (let i = 0; i < 50; i += 1) g.changed('tools');
    g.changed('resources');
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(250);
    expect(sent).toEqual(['tools', 'resources']);
  });

  it('tells a client once until it lists that kind again', () => {
    const { sent, gate: g } = gate();
    g.changed('tools');
    vi.advanceTimersByTime(250);
    g.changed('tools');
    vi.advanceTimersByTime(1_000);
    expect(sent).toEqual(['tools']);
    g.listed('prompts'); // another kind reopens nothing
    g.changed('tools');
    vi.advanceTimersByTime(1_000);
    expect(sent).toEqual(['tools']);
    g.listed('tools');
    g.changed('tools');
    vi.advanceTimersByTime(250);
    expect(sent).toEqual(['tools', 'tools']);
  });

  it('sends nothing once closed', () => {
    const { sent, gate: g } = gate();
    g.changed('tools');
    g.close();
    vi.advanceTimersByTime(1_000);
    expect(sent).toEqual([]);
  });
});
