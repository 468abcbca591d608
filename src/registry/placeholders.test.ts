import { describe, expect, it } from 'vitest';
import {
  hasIdentityPlaceholder,
  hasPlaceholder,
  removeIdentityPlaceholders,
  substitute,
  type PlaceholderContext,
} from './placeholders.js';

const ctx: PlaceholderContext = {
  userId: 'u-1',
  email: 'alice@example.com',
  userVars: { API_TOKEN: 'tok en' },
};

/** Names every plain object inherits: none of them is a placeholder of ours. */
const INHERITED = [
  'constructor',
  'hasOwnProperty',
  'toString',
  'valueOf',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__proto__',
  '__defineGetter__',
  '__lookupGetter__',
];

describe('substitute', () => {
  it('fills identity names and the user’s own variables, escaped for where they land', () => {
    expect(substitute('{{USER_ID}}|{{LIBRECHAT_USER_EMAIL}}', ctx, 'plain')).toBe('u-1|alice@example.com');
    expect(substitute('https://x.example/?t={{API_TOKEN}}', ctx, 'url')).toBe(
      'https://x.example/?t=tok%20en',
    );
    expect(substitute('Bearer {{ API_TOKEN }}', ctx, 'header')).toBe('Bearer tok en');
  });

  it('V-07: names only Object.prototype has stay literal, for every target', () => {
    for (const name of INHERITED) {
      for (const target of ['url', 'header', 'plain'] as const) {
        const text = `a{{${name}}}b`;
        expect(substitute(text, ctx, target), `${name} as ${target}`).toBe(text);
      }
    }
  });

  it('V-07: user variables resolve only as own properties, and only string values', () => {
    const inherited: Record<string, string> = Object.create({ SECRET: 'from-prototype' }) as Record<
      string,
      string
    >;
    expect(substitute('{{SECRET}}', { ...ctx, userVars: inherited }, 'plain')).toBe('{{SECRET}}');
    // A value parsed from JSON may carry an own `__proto__` key: it is the user's own variable.
    const parsed = JSON.parse('{"__proto__": "mine"}') as Record<string, string>;
    expect(substitute('{{__proto__}}', { ...ctx, userVars: parsed }, 'plain')).toBe('mine');
    const nonString = { N: 42 } as unknown as Record<string, string>;
    expect(substitute('{{N}}', { ...ctx, userVars: nonString }, 'plain')).toBe('{{N}}');
  });

  it('unknown names stay as written, and a header value with a line break is refused', () => {
    expect(substitute('{{NOPE}}', ctx, 'header')).toBe('{{NOPE}}');
    expect(() => substitute('{{V}}', { ...ctx, userVars: { V: 'a\r\nX-Evil: 1' } }, 'header')).toThrowError(
      /line break/,
    );
  });
});

describe('identity placeholder helpers', () => {
  it('V-07: know only the identity names, never an inherited one', () => {
    expect(hasIdentityPlaceholder('x {{USER_EMAIL}}')).toBe(true);
    for (const name of INHERITED) {
      expect(hasIdentityPlaceholder(`{{${name}}}`), name).toBe(false);
      expect(removeIdentityPlaceholders(`{{${name}}}`), name).toBe(`{{${name}}}`);
    }
    expect(removeIdentityPlaceholders('a{{USER_ID}}b{{API_TOKEN}}')).toBe('ab{{API_TOKEN}}');
  });

  it('hasPlaceholder answers the same when asked twice (no state kept between calls)', () => {
    expect(hasPlaceholder('{{A}}')).toBe(true);
    expect(hasPlaceholder('{{A}}')).toBe(true);
    expect(hasPlaceholder('none')).toBe(false);
  });
});
