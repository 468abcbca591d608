import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkServerName } from '../config/index.js';
import { candidateName, slugify } from './slug.js';

describe('slugify', () => {
  it.each([
    ['GitHub', 'github'],
    ['My  Server!!', 'my-server'],
    ['  --a--b--  ', 'a-b'],
    ['ｍｃｐ', 'mcp'],
    ['Café', 'caf'],
    ['日本語', ''],
  ])('%j → %j', (title, slug) => {
    expect(slugify(title)).toBe(slug);
  });

  it('every non-empty slug, and every suffixed candidate, is a valid server name of at most 64 characters', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.integer({ min: 1, max: 1000 }),
        (title, n) => {
          const slug = slugify(title);
          if (slug === '') return;
          const name = candidateName(slug, n);
          expect(name.length).toBeLessThanOrEqual(64);
          expect(name).toMatch(/^[a-z0-9][a-z0-9-]*$/);
          // Reserved words are skipped by the caller, not here.
          if (!['servers', 'tools', 'oauth', 'connection'].includes(name))
            expect(checkServerName(name).ok).toBe(true);
        },
      ),
    );
  });

  it('suffixes fit within 64 characters', () => {
    const slug = 'a'.repeat(64);
    expect(candidateName(slug, 1)).toBe(slug);
    expect(candidateName(slug, 2)).toBe(`${'a'.repeat(62)}-2`);
    expect(candidateName(slug, 100)).toBe(`${'a'.repeat(60)}-100`);
    expect(candidateName(`${'a'.repeat(61)}-bc`, 2)).toBe(`${'a'.repeat(61)}-2`);
  });
});
