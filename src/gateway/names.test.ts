import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignExposedNames, exposedName, exposedUri, parseExposedUri, type NamingItem } from './names.js';

const item = (serverName: string, name: string, trust: NamingItem['trust'] = 'own'): NamingItem => ({
  serverName,
  name,
  trust,
});

/** Exposed name → `server/name`, to compare catalogs whatever their items' object identity. */
const routes = (items: readonly NamingItem[]) =>
  Object.fromEntries(
    [...assignExposedNames(items).named].map(([exposed, i]) => [exposed, `${i.serverName}/${i.name}`]),
  );

describe('exposed names', () => {
  it('joins server and tool with a double underscore', () => {
    expect(exposedName('everything', 'echo')).toBe('everything__echo');
  });

  it('IV-09: shortens long names to 64 characters with a stable 80-bit hash suffix', () => {
    const long = exposedName(
      'a-server-with-a-rather-long-name',
      'and-a-tool-whose-name-is-also-quite-long-indeed',
    );
    expect(long.length).toBe(64);
    expect(long).toMatch(/_[0-9a-f]{20}$/);
    expect(long).toBe(
      exposedName('a-server-with-a-rather-long-name', 'and-a-tool-whose-name-is-also-quite-long-indeed'),
    );
    expect(long).not.toBe(
      exposedName('a-server-with-a-rather-long-name', 'and-a-tool-whose-name-is-also-quite-long-indeee'),
    );
  });

  it('IV-09: cleans characters clients refuse, without colliding with a name that was clean', () => {
    const slashed = exposedName('fs', 'read/file');
    expect(slashed).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(slashed).not.toBe(exposedName('fs', 'read_file'));
  });

  it('round-trips resource URIs, keeping the upstream URI verbatim', () => {
    const uri = exposedUri('everything', 'test://static/resource/1?x=a%20b#frag');
    expect(uri).toBe('switchboard://everything/test://static/resource/1?x=a%20b#frag');
    expect(parseExposedUri(uri)).toEqual({
      serverName: 'everything',
      uri: 'test://static/resource/1?x=a%20b#frag',
    });
    expect(parseExposedUri('switchboard://a/b/c')).toEqual({ serverName: 'a', uri: 'b/c' });
  });

  it('refuses what is not an exposed URI', () => {
    for (const uri of [
      'file:///etc/passwd',
      'switchboard://',
      'switchboard://everything',
      'switchboard://everything/',
      'switchboard:///x',
      'switchboard://bad name/x',
      'switchboard://-dash/x',
      `switchboard://${'a'.repeat(65)}/x`,
      'SWITCHBOARD://everything/x',
    ])
      expect(parseExposedUri(uri), uri).toBeNull();
  });

  it('an exposed template expands (RFC 6570) to the prefix and the upstream’s own expansion', () => {
    const upstream = 'demo://resource/dynamic/text/{resourceId}';
    const exposed = exposedUri('everything', upstream);
    expect(exposed).toBe('switchboard://everything/demo://resource/dynamic/text/{resourceId}');
    expect(parseExposedUri(exposed)).toEqual({ serverName: 'everything', uri: upstream });
    const expanded = new UriTemplate(exposed).expand({ resourceId: '7' });
    expect(parseExposedUri(expanded)).toEqual({
      serverName: 'everything',
      uri: 'demo://resource/dynamic/text/7',
    });
  });

  it('any template and values: the parsed expansion equals the upstream’s own (property)', () => {
    // Templates from literal pieces and every expression operator, values with reserved characters.
    const name = fc.constantFrom('a', 'b', 'id');
    const expression = fc
      .tuple(
        fc.constantFrom('', '+', '#', '.', '/', ';', '?', '&'),
        fc.array(name, { minLength: 1, maxLength: 2 }),
      )
      .map(([op, names]) => `{${op}${[...new Set(names)].join(',')}}`);
    const literal = fc.constantFrom('x://', 'host', '/', 'path', ':', '%20', '..', '~');
    const template = fc
      .array(fc.oneof(literal, expression), { minLength: 1, maxLength: 6 })
      .map((p) => p.join(''));
    const value = fc.string({ maxLength: 8 });
    fc.assert(
      fc.property(template, fc.record({ a: value, b: value, id: value }), (upstream, values) => {
        const own = new UriTemplate(upstream).expand(values);
        fc.pre(own !== '');
        const parsed = parseExposedUri(new UriTemplate(exposedUri('srv_1', upstream)).expand(values));
        expect(parsed).toEqual({ serverName: 'srv_1', uri: own });
      }),
    );
  });

  it('a pathological URI is taken apart by its prefix alone, never matched against a pattern', () => {
    const upstream = `x://${'{a}'.repeat(50_000)}${'/'.repeat(50_000)}{`;
    expect(parseExposedUri(exposedUri('s', upstream))).toEqual({ serverName: 's', uri: upstream });
  });
});

describe('naming a catalog', () => {
  it('V-08: col + b__echo and col__b + echo, both the admin’s, each get a hashed name of their own', () => {
    const named = routes([item('col', 'b__echo'), item('col__b', 'echo'), item('col', 'other')]);
    expect(Object.keys(named)).not.toContain('col__b__echo');
    expect(Object.values(named).sort()).toEqual(['col/b__echo', 'col/other', 'col__b/echo']);
    expect(named.col__other).toBe('col/other'); // an uncontested name stays plain
    for (const name of Object.keys(named)) expect(name).toMatch(/^[A-Za-z0-9_.-]{1,64}$/);
  });

  it('V-08: a shared server’s tool never takes or moves the name of an own one', () => {
    const named = routes([item('notes__x', 'echo'), item('notes', 'x__echo', 'shared')]);
    expect(named.notes__x__echo).toBe('notes__x/echo');
    expect(Object.values(named)).toContain('notes/x__echo');
  });

  it('V-08: a plain name crafted to equal another item’s hashed name loses to it', () => {
    const victim = item('col', 'b__echo', 'shared');
    const crowd = [victim, item('col__b', 'echo', 'shared')];
    const hashed = Object.entries(routes(crowd)).find(([, route]) => route === 'col/b__echo')![0];
    // A third item whose plain name is exactly that hashed name, as an attacker would pick it.
    const crafted = item('col__b', hashed.slice('col__b__'.length), 'shared');
    expect(exposedName(crafted.serverName, crafted.name)).toBe(hashed);
    const named = routes([...crowd, crafted]);
    expect(named[hashed]).toBe('col/b__echo');
    expect(Object.values(named)).toContain(`${crafted.serverName}/${crafted.name}`);
  });

  it('keeps a repeated item once', () => {
    expect(routes([item('a', 'echo'), item('a', 'echo')])).toEqual({ a__echo: 'a/echo' });
  });

  it('V-08: injective, within the limits, and independent of the order items come in', () => {
    // Names built from few pieces, `__` among them, so collisions are frequent.
    const piece = fc.constantFrom('a', 'b', '_', '__', 'x'.repeat(30), '/', 'é');
    const text = fc.array(piece, { minLength: 1, maxLength: 4 }).map((p) => p.join(''));
    const items = fc.array(
      fc.record({ serverName: text, name: text, trust: fc.constantFrom('own' as const, 'shared' as const) }),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(items, fc.func(fc.integer()), (list, key) => {
        const { named, dropped } = assignExposedNames(list);
        const distinct = new Set(list.map((i) => JSON.stringify([i.serverName, i.name])));
        expect(named.size + dropped.length).toBe(distinct.size);
        expect(dropped).toEqual([]);
        for (const name of named.keys()) expect(name).toMatch(/^[A-Za-z0-9_.-]{1,64}$/);
        const shuffled = [...list].sort((x, y) => key(x) - key(y));
        // Repeated pairs with different trust are kept as their first copy: compare sets without them.
        const unique = list.filter(
          (i, n) => list.findIndex((j) => j.serverName === i.serverName && j.name === i.name) === n,
        );
        if (unique.length === list.length) expect(routes(shuffled)).toEqual(routes(list));
      }),
    );
  });
});
