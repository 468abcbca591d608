import { HubError } from '../errors/index.js';

/** The caller-specific values a server config may reference as `{{NAME}}`. */
export interface PlaceholderContext {
  /** The id the chat application knows the caller by (`Identity.appUserId`). */
  userId: string;
  email: string;
  /** The user's custom variables for this server (decrypted). */
  userVars: Readonly<Record<string, string>>;
}

/** Where a value lands decides how it must be escaped. */
export type PlaceholderTarget = 'url' | 'header' | 'plain';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/**
 * Identity placeholders LibreChat defines, with our short aliases. A Map, not an object literal: a
 * name read from a config (`{{constructor}}`, `{{__proto__}}`) must never reach `Object.prototype`.
 */
const IDENTITY: ReadonlyMap<string, (ctx: PlaceholderContext) => string> = new Map([
  ['LIBRECHAT_USER_ID', (ctx: PlaceholderContext) => ctx.userId],
  ['USER_ID', (ctx: PlaceholderContext) => ctx.userId],
  ['LIBRECHAT_USER_EMAIL', (ctx: PlaceholderContext) => ctx.email],
  ['USER_EMAIL', (ctx: PlaceholderContext) => ctx.email],
]);

/** The caller's value for a placeholder name: an identity value or one of the user's own variables. */
function valueOf(name: string, ctx: PlaceholderContext): string | undefined {
  const identity = IDENTITY.get(name);
  if (identity) return identity(ctx);
  // Own properties only: an inherited name (`toString`, `hasOwnProperty`) is no variable of the user's.
  if (!Object.hasOwn(ctx.userVars, name)) return undefined;
  const value: unknown = ctx.userVars[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * True when the text references one of the identity placeholders (`{{LIBRECHAT_USER_ID}}` and the
 * like). User-created servers may not use them: a server shared with others would learn each
 * caller's id or e-mail address.
 */
export function hasIdentityPlaceholder(text: string): boolean {
  return [...text.matchAll(PLACEHOLDER)].some((match) => IDENTITY.has(match[1] ?? ''));
}

/** The text with every identity placeholder removed; other placeholders and text stay as written. */
export function removeIdentityPlaceholders(text: string): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => (IDENTITY.has(name) ? '' : whole));
}

/** True when the text references any `{{NAME}}` placeholder. */
export function hasPlaceholder(text: string): boolean {
  PLACEHOLDER.lastIndex = 0;
  return PLACEHOLDER.test(text);
}

/**
 * Replaces `{{NAME}}` with the user's value. Only the identity names and the user's own variables
 * resolve; any other name (an unknown one, or one only `Object.prototype` has) stays as written.
 * In a URL the value is percent-encoded so it cannot change the host or path structure; in a header
 * a CR or LF is refused (header injection). Values are never expanded against the environment.
 */
export function substitute(text: string, ctx: PlaceholderContext, target: PlaceholderTarget): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => {
    const value = valueOf(name, ctx);
    if (value === undefined) return whole;
    if (target === 'url') return encodeURIComponent(value);
    if (target === 'header' && /[\r\n\0]/.test(value)) {
      throw new HubError('HUB_ERR_VALIDATION', { message: `The value for ${name} contains a line break` });
    }
    return value;
  });
}
