import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { TaskOwners } from './task-owners.js';

describe('TaskOwners', () => {
  it('a task belongs to its creator on its connection only', () => {
    const owners = new TaskOwners();
    owners.record('app|everything|relay', 't1', 'alice', 60_000);
    expect(owners.owns('app|everything|relay', 't1', 'alice')).toBe(true);
    expect(owners.owns('app|everything|relay', 't1', 'bob')).toBe(false);
    expect(owners.owns('app|other|relay', 't1', 'alice')).toBe(false);
    expect(() => owners.check('app|everything|relay', 't1', 'bob')).toThrow(McpError);
    expect(() => owners.check('app|everything|relay', 'unknown', 'alice')).toThrow('Task not found');
    expect(() => owners.check('app|everything|relay', 42, 'alice')).toThrow('Task not found');
    expect(() => owners.check('app|everything|relay', 't1', 'alice')).not.toThrow();
  });

  it('forgets a task once its ttl has passed', () => {
    let now = 1_000;
    const owners = new TaskOwners(() => now);
    owners.record('k', 't1', 'alice', 5_000);
    now += 4_999;
    expect(owners.owns('k', 't1', 'alice')).toBe(true);
    now += 1;
    expect(owners.owns('k', 't1', 'alice')).toBe(false);
  });
});
