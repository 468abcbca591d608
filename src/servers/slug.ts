import { RESERVED_SERVER_NAMES } from '../config/index.js';

/** Server names are at most 64 characters. */
const MAX_NAME_LENGTH = 64;

/**
 * The server name a title becomes: NFKC-normalised first, so fullwidth `ｍｃｐ` and `mcp` are
 * the same name (IV-05), then lower-cased, every run of other characters turned
 * into one `-`, trimmed of `-`, and cut to 64 characters. Empty when the title has no ASCII letter
 * or digit.
 */
export function slugify(title: string): string {
  return trimDashes(
    trimDashes(
      title
        .normalize('NFKC')
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-'),
    ).slice(0, MAX_NAME_LENGTH),
  );
}

function trimDashes(text: string): string {
  return text.replace(/^-+|-+$/g, '');
}

/**
 * The `n`th candidate name for a slug: the slug itself, then `slug-2`, `slug-3`…, shortened so the
 * suffix fits in 64 characters.
 */
export function candidateName(slug: string, n: number): string {
  if (n <= 1) return slug;
  const suffix = `-${n}`;
  return `${trimDashes(slug.slice(0, MAX_NAME_LENGTH - suffix.length))}${suffix}`;
}

/** True when the name is one of the route words no server may take. */
export function isReservedName(name: string): boolean {
  return RESERVED_SERVER_NAMES.includes(name.toLowerCase());
}
