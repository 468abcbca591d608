import { describe, expect, it } from 'vitest';
import { cacheableTool, createToolCache, type ToolListServer } from './tool-cache.js';

const EVERYTHING: ToolListServer = {
  source: 'yaml',
  name: 'everything',
  config: { type: 'streamable-http', url: 'http://127.0.0.1:1/mcp' },
};
import { toolDetails } from './tool-details.js';
import { createMemoryKv } from '../kv/index.js';

describe('toolDetails', () => {
  it('passes on a well-formed title, schemas, annotations and icons', () => {
    const tool = {
      name: 'get-sum',
      title: 'Get Sum',
      inputSchema: { type: 'object', properties: { a: { type: 'number' } } },
      outputSchema: { type: 'object', properties: { sum: { type: 'number' } } },
      annotations: { title: 'Sum', readOnlyHint: true, destructiveHint: false },
      icons: [{ src: 'data:image/png;base64,AAAA', mimeType: 'image/png', sizes: ['48x48'], theme: 'dark' }],
    };
    expect(toolDetails(tool)).toEqual({
      title: 'Get Sum',
      inputSchema: tool.inputSchema,
      outputSchema: tool.outputSchema,
      annotations: tool.annotations,
      icons: tool.icons,
    });
  });

  it('leaves out what is missing or malformed, key by key', () => {
    expect(toolDetails({ name: 'bare' })).toEqual({});
    expect(
      toolDetails({
        name: 'odd',
        title: 42 as unknown as string,
        inputSchema: 'not an object',
        outputSchema: [1, 2],
        annotations: { readOnlyHint: 'yes', idempotentHint: true, extra: 'dropped' },
        icons: [
          { src: 'javascript:alert(1)' },
          { src: 'file:///etc/passwd' },
          { src: 'not a url' },
          { src: 'https://example.com/i.png', theme: 'sepia' },
          { src: 'https://example.com/ok.svg' },
        ],
      }),
    ).toEqual({ annotations: { idempotentHint: true }, icons: [{ src: 'https://example.com/ok.svg' }] });
    expect(toolDetails({ name: 'n', annotations: { readOnlyHint: 1 }, icons: [{ src: 'ftp://x' }] })).toEqual(
      {},
    );
  });
});

describe('tool cache', () => {
  it('keeps the listing keys of a tool and drops the rest', async () => {
    const cache = createToolCache(createMemoryKv({ clock: { now: () => 0 } }));
    const upstream = {
      name: 'get-sum',
      description: 'Adds',
      title: 'Get Sum',
      inputSchema: { type: 'object' },
      outputSchema: { type: 'object' },
      annotations: { readOnlyHint: true },
      icons: [{ src: 'data:image/png;base64,AAAA' }],
      execution: { taskSupport: 'forbidden' },
      _meta: { secret: 'x' },
    };
    await cache.put('app|everything', [upstream, { name: 'plain' }], EVERYTHING);
    expect(await cache.get('app|everything', EVERYTHING)).toEqual([
      {
        name: 'get-sum',
        description: 'Adds',
        title: 'Get Sum',
        inputSchema: { type: 'object' },
        outputSchema: { type: 'object' },
        annotations: { readOnlyHint: true },
        icons: [{ src: 'data:image/png;base64,AAAA' }],
        execution: { taskSupport: 'forbidden' },
      },
      { name: 'plain' },
    ]);
    expect(cacheableTool({ name: 'x', description: undefined })).toEqual({ name: 'x' });
  });
});
