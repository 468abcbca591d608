import { HubError } from '../errors/index.js';
import type { ServersRepository } from '../store/index.js';
import { candidateName, isReservedName, slugify } from './slug.js';

/** How many `-n` suffixes are tried before giving up with a 409. */
export const MAX_NAME_ATTEMPTS = 100;

/** The slug of a title, or a validation error naming `config.title` when it has nothing to slug. */
export function slugOfTitle(title: string): string {
  const slug = slugify(title);
  if (slug === '') {
    throw new HubError('HUB_ERR_VALIDATION', {
      message: 'Invalid configuration',
      details: {
        errors: [{ path: 'config.title', message: 'must contain at least one letter or digit (a-z, 0-9)' }],
      },
    });
  }
  return slug;
}

/**
 * The names to try for a new server, in order: the slug, then `-2`, `-3`…, skipping the route words
 * and every YAML name (compared without case). Whether a user-created server holds a name is left
 * to the unique index at insert time; {@link firstFreeName} only skips the ones already taken.
 */
export function* nameCandidates(slug: string, yamlKeys: ReadonlySet<string>): Generator<string> {
  for (let n = 1; n <= MAX_NAME_ATTEMPTS; n += 1) {
    const name = candidateName(slug, n);
    if (!isReservedName(name) && !yamlKeys.has(name)) yield name;
  }
}

/** The first candidate no user-created server holds yet (a concurrent create may still take it). */
export async function firstFreeName(
  candidates: Iterator<string>,
  servers: Pick<ServersRepository, 'findByName'>,
): Promise<string> {
  for (let next = candidates.next(); next.done !== true; next = candidates.next()) {
    if ((await servers.findByName(next.value)) === null) return next.value;
  }
  throw new HubError('HUB_ERR_CONFLICT', { message: 'Too many servers share this title; choose another' });
}
