import { describe, expect, it } from 'vitest';
import { HubError } from '../errors/index.js';
import { failureText } from './failure-text.js';

describe('failureText', () => {
  it('keeps the hub’s message and adds the HTTP status and the system error code', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const fetchFailed = new TypeError('fetch failed', { cause: refused });
    expect(failureText(new HubError('HUB_ERR_UPSTREAM_UNAVAILABLE', { cause: fetchFailed }))).toBe(
      'MCP server is unavailable (ECONNREFUSED)',
    );
    expect(
      failureText(new HubError('HUB_ERR_UPSTREAM_UNAVAILABLE', { details: { upstreamStatus: 503 } })),
    ).toBe('MCP server is unavailable (HTTP 503)');
    const both = new AggregateError([refused], 'all addresses failed');
    expect(failureText(new HubError('HUB_ERR_UPSTREAM_TIMEOUT', { cause: both }))).toBe(
      'MCP server did not answer in time (ECONNREFUSED)',
    );
  });

  it('never passes on the words of the cause: a URL with credentials or a token stays out', () => {
    const leaky = Object.assign(new Error('GET https://user:hunter2@example.com/mcp?token=abc failed'), {
      code: 'https://user:hunter2@example.com',
    });
    const text = failureText(new HubError('HUB_ERR_UPSTREAM_UNAVAILABLE', { cause: leaky }));
    expect(text).toBe('MCP server is unavailable');
    expect(failureText(new Error('Bearer eyJhbGciOi secret'))).toBe('MCP server could not be connected');
  });
});
