import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { RequestSignal } from './request-signal.js';

describe('RequestSignal', () => {
  it('aborts once: listeners and onabort hear it once, the first reason stays', () => {
    const signal = new RequestSignal();
    const heard: string[] = [];
    signal.addEventListener('abort', (event) => heard.push(`listener ${event.type}`));
    signal.onabort = (event) => heard.push(`onabort ${event.type}`);
    expect(() => signal.throwIfAborted()).not.toThrow();
    const first = new Error('first');
    signal.abort(first);
    signal.abort(new Error('second'));
    expect(heard).toEqual(['listener abort', 'onabort abort']);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(first);
    expect(() => signal.throwIfAborted()).toThrow(first);
  });

  it('without a reason, aborts with an AbortError as AbortController does', () => {
    const signal = new RequestSignal();
    signal.abort();
    const reference = new AbortController();
    reference.abort();
    expect(signal.reason).toBeInstanceOf(DOMException);
    expect((signal.reason as DOMException).name).toBe((reference.signal.reason as DOMException).name);
  });

  it('the SDK client takes it as a request signal: an abort rejects the call and tells the server', async () => {
    // A server whose tool never answers, over the SDK's in-memory transport.
    const server = new Server({ name: 'never', version: '1' }, { capabilities: { tools: {} } });
    server.setRequestHandler(CallToolRequestSchema, () => new Promise(() => undefined));
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const serverOnMessage = serverSide.onmessage;
    const cancelled = new Promise<JSONRPCMessage>((resolve) => {
      serverSide.onmessage = (message, extra) => {
        if ('method' in message && message.method === 'notifications/cancelled') resolve(message);
        serverOnMessage?.(message, extra);
      };
    });
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(clientSide);
    const signal = new RequestSignal();
    const call = client.callTool({ name: 'x', arguments: {} }, undefined, { signal });
    signal.abort(new Error('hub gave up'));
    await expect(call).rejects.toThrow('hub gave up');
    expect(await cancelled).toMatchObject({ params: { reason: 'Error: hub gave up' } });
    await client.close();
  });
});
