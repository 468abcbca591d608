import { describe, expect, it } from 'vitest';
import { configFileSchema } from './file-schema.js';
import { knownKeysAt } from './schema-keys.js';
import { librechatKeys } from '../../test/support/librechat-keys.js';

/**
 * Keys LibreChat accepts that Switchboard's YAML refuses on purpose, each with the reason. Anything
 * LibreChat accepts and is not here must validate.
 */
const DELIBERATELY_REFUSED: Readonly<Record<string, string>> = {};

/** The keys of LibreChat's schemas our file schema does not accept at the same place. */
function missingKeys(): string[] {
  const missing: string[] = [];
  for (const [dotted, { parent, key }] of librechatKeys()) {
    // Any name stands for a record key: our schema, too, takes every name there.
    const path = parent.map((segment) => (segment === '*' ? 'any' : segment));
    if (!knownKeysAt(configFileSchema, path).includes(key)) missing.push(dotted);
  }
  return missing.sort();
}

describe("parity with librechat-data-provider's config schemas", () => {
  it('finds the keys it walks for, so an empty walk cannot pass', () => {
    const keys = [...librechatKeys().keys()];
    expect(keys).toEqual(
      expect.arrayContaining([
        'mcpServers.*.command',
        'mcpServers.*.url',
        'mcpServers.*.oauth.client_id',
        'mcpServers.*.customUserVars.*.title',
        'mcpSettings.allowedDomains',
        'interface.mcpServers.use',
      ]),
    );
  });

  it('accepts every key LibreChat accepts, except those refused on purpose', () => {
    expect(missingKeys()).toEqual(Object.keys(DELIBERATELY_REFUSED).sort());
  });
});
