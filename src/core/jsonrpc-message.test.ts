import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { isInitializeMessage, parseJsonRpcMessage } from './jsonrpc-message.js';

const RELATED = 'io.modelcontextprotocol/related-task';

/** Messages of every shape, well-formed and not, near the edges of each rule. */
const CASES: readonly unknown[] = [
  { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } },
  { jsonrpc: '2.0', id: 'a', method: 'tools/list' },
  { jsonrpc: '2.0', id: 0, method: 'ping', params: {} },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { progressToken: 7 } } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { progressToken: 'p', other: [1] } } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { progressToken: 1.5 } } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { progressToken: null } } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: null } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: [] } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { [RELATED]: { taskId: 't' } } } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { [RELATED]: { taskId: 3 } } } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: [] },
  { jsonrpc: '2.0', id: 1, method: 'x', params: null },
  { jsonrpc: '2.0', id: 1, method: 'x', params: 'p' },
  { jsonrpc: '2.0', id: 1.5, method: 'x' },
  { jsonrpc: '2.0', id: 2 ** 53, method: 'x' },
  { jsonrpc: '2.0', id: -3, method: 'x' },
  { jsonrpc: '2.0', id: null, method: 'x' },
  { jsonrpc: '2.0', id: true, method: 'x' },
  { jsonrpc: '2.0', id: 1, method: 5 },
  { jsonrpc: '2.0', id: 1, method: 'x', extra: 1 },
  { jsonrpc: '1.0', id: 1, method: 'x' },
  { id: 1, method: 'x' },
  { jsonrpc: '2.0', method: 'notifications/initialized' },
  { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 2 } },
  { jsonrpc: '2.0', method: 'n', extra: true },
  { jsonrpc: '2.0', id: 1, result: {} },
  { jsonrpc: '2.0', id: 'r', result: { content: [{ type: 'text', text: 'x' }], isError: false } },
  { jsonrpc: '2.0', id: 1, result: { _meta: { progressToken: 2 } } },
  { jsonrpc: '2.0', id: 1, result: { _meta: { [RELATED]: { taskId: 't' } } } },
  { jsonrpc: '2.0', id: 1, result: [] },
  { jsonrpc: '2.0', id: 1, result: null },
  { jsonrpc: '2.0', id: 1, result: 3 },
  { jsonrpc: '2.0', result: {} },
  { jsonrpc: '2.0', id: 1.25, result: {} },
  { jsonrpc: '2.0', id: 1, result: {}, extra: 1 },
  { jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'no' } },
  { jsonrpc: '2.0', error: { code: -32700, message: 'parse', data: { at: 1 } } },
  { jsonrpc: '2.0', id: 1, error: { code: 1.5, message: 'no' } },
  { jsonrpc: '2.0', id: 1, error: { code: 1 } },
  { jsonrpc: '2.0', id: 1, error: { code: 1, message: 'x' }, result: {} },
  { jsonrpc: '2.0', id: 1, method: 'x', result: {} },
  { jsonrpc: '2.0', id: 1 },
  { jsonrpc: '2.0' },
  [],
  [{ jsonrpc: '2.0', id: 1, method: 'x' }],
  null,
  'text',
  42,
  JSON.parse('{"jsonrpc":"2.0","id":1,"method":"x","__proto__":{"polluted":true}}'),
  JSON.parse('{"jsonrpc":"2.0","id":1,"method":"x","params":{"__proto__":{"a":1}}}'),
  JSON.parse('{"jsonrpc":"2.0","id":1,"method":"x","params":{"_meta":{"__proto__":{"a":1}}}}'),
  JSON.parse('{"jsonrpc":"2.0","id":1,"result":{"__proto__":{"a":1}}}'),
];

function outcome(run: () => unknown): { value: unknown } | { threw: true } {
  try {
    return { value: run() };
  } catch {
    return { threw: true };
  }
}

describe('parseJsonRpcMessage', () => {
  it('accepts, refuses and yields exactly what the SDK message schema does, case by case', () => {
    for (const value of CASES) {
      const ours = outcome(() => parseJsonRpcMessage(value));
      const schema = outcome(() => JSONRPCMessageSchema.parse(value));
      expect(ours, JSON.stringify(value)).toEqual(schema);
    }
  });

  it('returns a common message as it is, without the copy the schema builds', () => {
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } };
    const result = { jsonrpc: '2.0', id: 1, result: { content: [] } };
    expect(parseJsonRpcMessage(call)).toBe(call);
    expect(parseJsonRpcMessage(result)).toBe(result);
    expect(JSONRPCMessageSchema.parse(call)).not.toBe(call);
  });
});

describe('isInitializeMessage', () => {
  it('is true only for a well-formed initialize request', () => {
    const params = {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'c', version: '1' },
    };
    expect(isInitializeMessage({ jsonrpc: '2.0', id: 1, method: 'initialize', params })).toBe(true);
    expect(isInitializeMessage({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} })).toBe(false);
    expect(isInitializeMessage({ jsonrpc: '2.0', id: 1, method: 'tools/list', params })).toBe(false);
    expect(isInitializeMessage(null)).toBe(false);
    expect(isInitializeMessage([{ method: 'initialize', params }])).toBe(false);
  });
});
