import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { routeAnswers } from './session-answers.js';

/** A transport that records what it sends and lets the test deliver what the client sends. */
function fakeTransport() {
  const sent: JSONRPCMessage[] = [];
  const heard: JSONRPCMessage[] = [];
  const transport: Transport = {
    start: async () => undefined,
    close: async () => undefined,
    send: async (message) => {
      sent.push(message);
    },
    onmessage: (message) => {
      heard.push(message);
    },
  };
  return { transport, sent, heard };
}

describe('routeAnswers', () => {
  it('prefixes the ids of its requests, takes back its own answers and forwards the others’', async () => {
    const a = fakeTransport();
    const forwarded: Array<[string, JSONRPCMessage]> = [];
    routeAnswers(a.transport, 'inst-a', (to, message) => forwarded.push([to, message]));
    await a.transport.send({ jsonrpc: '2.0', id: 0, method: 'sampling/createMessage', params: {} });
    await a.transport.send({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
    await a.transport.send({ jsonrpc: '2.0', id: 7, result: {} });
    expect(a.sent.map((m) => ('id' in m ? m.id : null))).toEqual(['inst-a~0', null, 7]);

    a.transport.onmessage?.({ jsonrpc: '2.0', id: 'inst-a~0', result: { ok: 1 } });
    a.transport.onmessage?.({ jsonrpc: '2.0', id: 'inst-b~0', result: { ok: 2 } });
    a.transport.onmessage?.({ jsonrpc: '2.0', id: 3, method: 'tools/list' });
    expect(a.heard).toEqual([
      { jsonrpc: '2.0', id: 0, result: { ok: 1 } },
      { jsonrpc: '2.0', id: 3, method: 'tools/list' },
    ]);
    expect(forwarded).toEqual([['inst-b', { jsonrpc: '2.0', id: 'inst-b~0', result: { ok: 2 } }]]);
  });
});
