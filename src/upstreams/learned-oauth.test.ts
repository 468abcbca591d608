import { describe, expect, it } from 'vitest';
import { systemClock } from '../core/index.js';
import { createMemoryKv } from '../kv/index.js';
import type { RegisteredServer } from '../registry/index.js';
import { LearnedOAuth } from './learned-oauth.js';
import { parseServerChange, publishServerChange } from './server-changes.js';

const server = (over: Partial<RegisteredServer> & { url?: string } = {}): RegisteredServer => ({
  name: over.name ?? 'tools',
  source: over.source ?? 'db',
  ...(over.ownerId === undefined ? { ownerId: 'alice' } : { ownerId: over.ownerId }),
  config: { type: 'streamable-http', url: over.url ?? 'https://mcp.example.com/mcp' },
});

/** Resolves once `condition()` holds (pub/sub delivery is asynchronous). */
async function eventually(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i += 1) await new Promise((r) => setTimeout(r, 5));
  expect(condition()).toBe(true);
}

describe('LearnedOAuth', () => {
  it('knows a server by its identity: another owner, source, name or address is another server', () => {
    const learned = new LearnedOAuth({});
    learned.learn(server());
    expect(learned.has(server())).toBe(true);
    expect(learned.has(server({ ownerId: 'bob' }))).toBe(false);
    expect(learned.has(server({ source: 'yaml' }))).toBe(false);
    expect(learned.has(server({ name: 'tools2' }))).toBe(false);
    expect(learned.has(server({ url: 'https://other.example.com/mcp' }))).toBe(false);
  });

  it('is shared through the KV, and a closed server is forgotten everywhere', async () => {
    const kv = createMemoryKv({ clock: systemClock });
    const a = new LearnedOAuth({ kv });
    const b = new LearnedOAuth({ kv });
    await Promise.all([a.start(), b.start()]);
    a.learn(server());
    await eventually(() => b.has(server()));
    await publishServerChange(kv, { serverName: 'tools', change: 'access' });
    await publishServerChange(kv, { serverName: 'tools', change: 'closed' });
    await eventually(() => !a.has(server()) && !b.has(server()));
    await Promise.all([a.stop(), b.stop()]);
    await kv.close();
  });

  it('an edited (replaced) server is forgotten everywhere too', async () => {
    const kv = createMemoryKv({ clock: systemClock });
    const a = new LearnedOAuth({ kv });
    const b = new LearnedOAuth({ kv });
    await Promise.all([a.start(), b.start()]);
    a.learn(server());
    await expect.poll(() => b.has(server())).toBe(true);
    await publishServerChange(kv, { serverName: 'tools', change: 'replaced', origin: 'elsewhere' });
    await expect.poll(() => a.has(server()) || b.has(server())).toBe(false);
    await Promise.all([a.stop(), b.stop()]);
    await kv.close();
  });
});

describe('parseServerChange', () => {
  it('reads what publishServerChange writes and nothing else', () => {
    expect(parseServerChange('{"serverName":"x","change":"closed"}')).toEqual({
      serverName: 'x',
      change: 'closed',
    });
    expect(parseServerChange('{"serverName":"x","change":"replaced","origin":"i-1"}')).toEqual({
      serverName: 'x',
      change: 'replaced',
      origin: 'i-1',
    });
    expect(parseServerChange('{"serverName":"x","change":"replaced"}')).toEqual({
      serverName: 'x',
      change: 'replaced',
    });
    for (const bad of [
      '',
      'null',
      '{"serverName":1,"change":"closed"}',
      '{"serverName":"x","change":"gone"}',
      '{"serverName":"x","change":"Replaced"}',
      '{"serverName":"x","change":"replaced","origin":7}',
    ]) {
      expect(parseServerChange(bad)).toBeNull();
    }
  });
});
