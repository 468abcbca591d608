/**
 * Misspellings seen in real configs whose right spelling is too far away for edit distance to find
 * (`environment` → `env`), plus the ones README.md promises by name.
 */
const KNOWN_MISSPELLINGS: Readonly<Record<string, string>> = {
  clientId: 'client_id',
  clientSecret: 'client_secret',
  scopes: 'scope',
  authorizationUrl: 'authorization_url',
  tokenUrl: 'token_url',
  redirectUri: 'redirect_uri',
  redirectUrl: 'redirect_uri',
  redirect_url: 'redirect_uri',
  initTimeOut: 'initTimeout',
  header: 'headers',
  environment: 'env',
  environmentVariables: 'env',
  arguments: 'args',
  cmd: 'command',
  transport: 'type',
  endpoint: 'url',
  uri: 'url',
  icon: 'iconPath',
  iconUrl: 'iconPath',
  mcp_servers: 'mcpServers',
  mcpservers: 'mcpServers',
  servers: 'mcpServers',
  mcp_settings: 'mcpSettings',
  mcpsettings: 'mcpSettings',
};

/** Extra words for an unknown key, given the path of the object holding it (relative to the schema). */
export type KeyNote = (parentPath: readonly PropertyKey[], key: string) => string | undefined;

/** Notes for keys LibreChat accepts in some server entries but not in the one being read. */
export const serverKeyNote: KeyNote = (parentPath, key) => {
  // LibreChat, too, refuses `obo` on stdio and websocket entries.
  if (parentPath.length === 0 && key === 'obo')
    return "On-Behalf-Of applies to 'sse' and 'streamable-http' servers only";
  return undefined;
};

/**
 * Notes for the whole file, where a bare "unknown key" would leave the reader guessing: a full
 * librechat.yaml pointed at the hub, LibreChat's other `interface` switches, and server entries.
 */
export const fileKeyNote: KeyNote = (parentPath, key) => {
  if (parentPath.length === 0) {
    return 'a Switchboard file holds only mcpServers, mcpSettings, roles, interface, auth and version';
  }
  if (parentPath.length === 1 && parentPath[0] === 'interface') {
    return "Switchboard reads only 'interface.mcpServers'";
  }
  if (parentPath[0] === 'mcpServers' && parentPath.length >= 2)
    return serverKeyNote(parentPath.slice(2), key);
  return undefined;
};

/** Compares keys ignoring case, `_` and `-`, so `clientId`, `client_id` and `Client-ID` are the same word. */
function fold(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions (`tiemout`). */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return at(rows - 1, cols - 1);
}

/**
 * The allowed key `key` was most likely meant to be, or undefined when nothing is close enough to be a
 * useful guess. Known misspellings win; then an exact match after folding case and separators; then the
 * single nearest key within a small edit distance (about one typo per four letters).
 */
export function suggestKey(key: string, allowed: readonly string[]): string | undefined {
  // Own entries only: a key such as `constructor` must not find Object.prototype's (V-07).
  const misspelt = (name: string): string | undefined =>
    Object.hasOwn(KNOWN_MISSPELLINGS, name) ? KNOWN_MISSPELLINGS[name] : undefined;
  const known = misspelt(key) ?? misspelt(key.toLowerCase());
  // A known misspelling is only a good hint where its right spelling is allowed, or where we cannot tell.
  if (known !== undefined && (allowed.length === 0 || allowed.includes(known))) return known;

  const folded = fold(key);
  const sameWord = allowed.find((candidate) => fold(candidate) === folded);
  if (sameWord !== undefined) return sameWord;

  const limit = Math.max(1, Math.floor(folded.length / 4));
  let best: string | undefined;
  let bestDistance = Infinity;
  let tie = false;
  for (const candidate of allowed) {
    const distance = editDistance(folded, fold(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
      tie = false;
    } else if (distance === bestDistance) {
      tie = true;
    }
  }
  // Two equally near keys mean we would be guessing; say nothing rather than mislead.
  return best !== undefined && bestDistance <= limit && !tie ? best : undefined;
}

/** What is known about the place an unknown key was found. */
export interface KeyPlace {
  /** Keys allowed in the object holding the unknown key. */
  allowed: readonly string[];
  /** For each allowed key that is itself an object, the keys allowed inside it. */
  nested: ReadonlyMap<string, readonly string[]>;
  /** Extra words for this place, used when there is no suggestion. */
  note: string | undefined;
}

/**
 * The message for a key the schema does not know: `unknown key 'clientId' (did you mean 'client_id'?)`.
 * A key that is right but one level too high (`client_id` beside `oauth`) is pointed to where it belongs.
 */
export function unknownKeyMessage(key: string, place: KeyPlace): string {
  const suggestion = suggestKey(key, place.allowed);
  // The allowed keys span every transport, so a key valid for another transport suggests itself.
  if (suggestion === key) {
    return `unknown key '${key}': ${place.note ?? 'not accepted for this type of server'}`;
  }
  if (suggestion !== undefined) return `unknown key '${key}' (did you mean '${suggestion}'?)`;
  const folded = fold(key);
  for (const [parent, keys] of place.nested) {
    const inside = keys.find((candidate) => fold(candidate) === folded);
    if (inside !== undefined) return `unknown key '${key}' (did you mean '${parent}.${inside}'?)`;
  }
  return place.note === undefined ? `unknown key '${key}'` : `unknown key '${key}': ${place.note}`;
}
