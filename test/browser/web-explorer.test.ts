import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventStreamParser, readEventStream, type StreamEvent } from '../../web/src/explorer/event-stream.js';
import { everythingStdioCommand } from '../peers/everything.js';
import { describeInChromium } from '../support/chromium.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { freePort } from '../support/mcp-helpers.js';
import { cheapPasswordHash } from './cheap-password.js';
import { shootBothWidths, signInThroughPage, webPageBuilt } from './web-page.js';

const EMAIL = 'dana@example.com';
const PASSWORD = 'correct horse battery staple';

const built = await webPageBuilt('the Tool explorer suite');

/** A short silent WAV (8 kHz, 8-bit mono): real audio for the result's player. */
function silentWav(samples = 800): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + samples, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(8000, 28);
  header.writeUInt16LE(1, 32);
  header.writeUInt16LE(8, 34);
  header.write('data', 36);
  header.writeUInt32LE(samples, 40);
  return Buffer.concat([header, Buffer.alloc(samples, 128)]);
}

/** The small server of these tests: its URL, how many naps were cancelled by their caller, and stop. */
interface RichServer {
  url: string;
  napsCancelled(): number;
  stop(): Promise<void>;
}

/**
 * A small MCP server (the SDK's, streamable streamable HTTP on loopback) with one tool whose input
 * has nested objects, a list of objects, an enum, a boolean and bounds, and whose answer carries
 * audio and embedded resources: what server-everything's tools do not cover.
 */
async function startRichServer(): Promise<RichServer> {
  const naps = { cancelled: 0 };
  const build = () => {
    const server = new McpServer({ name: 'rich', version: '1.0.0' });
    server.registerTool(
      'plan-trip',
      {
        title: 'Plan a trip',
        description: 'Plans a trip for some travellers',
        inputSchema: {
          destination: z.string().min(2).describe('Where to go'),
          nights: z.number().int().min(1).max(30),
          travellers: z.array(z.object({ name: z.string(), age: z.number().int().min(0).optional() })),
          options: z
            .object({ window: z.boolean().default(false), meal: z.enum(['none', 'veg', 'any']) })
            .optional(),
          budget: z.union([z.number(), z.string()]).optional().describe('A sum, or words'),
          note: z.string().nullable().optional(),
        },
        annotations: { readOnlyHint: false, destructiveHint: true },
      },
      (args) => ({
        content: [
          { type: 'text', text: JSON.stringify(args) },
          { type: 'audio', data: silentWav().toString('base64'), mimeType: 'audio/wav' },
          {
            type: 'resource',
            resource: { uri: 'trip://plan/1', mimeType: 'text/plain', text: 'Day 1: arrive' },
          },
          {
            type: 'resource',
            resource: { uri: 'trip://ticket/1', mimeType: 'application/pdf', blob: 'AAEC' },
          },
        ],
      }),
    );
    server.registerTool(
      'nap',
      {
        title: 'Take a nap',
        description: 'Answers after some seconds',
        inputSchema: { seconds: z.number().min(0) },
      },
      async ({ seconds }, extra) => {
        // The caller's notifications/cancelled aborts the signal: the nap ends there, and is counted.
        const finished = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(true), seconds * 1000);
          extra.signal.addEventListener(
            'abort',
            () => {
              clearTimeout(timer);
              resolve(false);
            },
            { once: true },
          );
        });
        if (!finished) naps.cancelled += 1;
        return { content: [{ type: 'text', text: `Slept ${seconds} s` }] };
      },
    );
    return server;
  };
  // Sessions, so that a cancel notification (a request of its own) reaches the call it cancels.
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const serve = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const id = req.headers['mcp-session-id'];
    let transport = typeof id === 'string' ? sessions.get(id) : undefined;
    if (transport === undefined && typeof id === 'string') {
      res.writeHead(404).end();
      return;
    }
    if (transport === undefined) {
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sessionId) => void sessions.set(sessionId, created),
        onsessionclosed: (sessionId) => void sessions.delete(sessionId),
      });
      await build().connect(created);
      transport = created;
    }
    await transport.handleRequest(req, res);
  };
  const httpServer = http.createServer((req, res) => void serve(req, res));
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo; // a TCP listen always yields AddressInfo
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    napsCancelled: () => naps.cancelled,
    stop: () =>
      new Promise<void>((resolve) => {
        httpServer.closeAllConnections();
        httpServer.close(() => resolve());
      }),
  };
}

/** Problems the page reports: console errors (a CSP refusal is one) and uncaught exceptions. */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    // The only expected error is the browser's note on the signed-out session check (401).
    if (message.type() === 'error' && !message.text().includes('401')) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return problems;
}

/** Tool calls the page sends, by tool name. */
function watchCalls(page: Page): string[] {
  const calls: string[] = [];
  page.on('request', (request) => {
    const match = /\/api\/mcp\/[^/]+\/tools\/([^/]+)\/call$/.exec(new URL(request.url()).pathname);
    if (match !== null && request.method() === 'POST') calls.push(decodeURIComponent(match[1]!));
  });
  return calls;
}

/** Opens Tools through the page's navigation and waits for everything's tools. */
async function openExplorer(page: Page): Promise<void> {
  await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Tools' }).click();
  await page.getByRole('heading', { name: 'Tools', level: 1 }).waitFor();
  await everythingSection(page).getByRole('link', { name: 'Echo Tool' }).waitFor();
}

function everythingSection(page: Page) {
  return page.getByRole('region', { name: 'everything' });
}

/** From the tool list, opens a tool of a server (everything unless said) by its title. */
async function openTool(page: Page, title: string, serverName = 'everything'): Promise<void> {
  await page
    .getByRole('region', { name: serverName })
    .getByRole('link', { name: title, exact: true })
    .click();
  await page.getByRole('heading', { name: title, level: 1 }).waitFor();
}

async function backToList(page: Page): Promise<void> {
  await page.getByRole('link', { name: '← All tools' }).click();
  await page.getByRole('heading', { name: 'Tools', level: 1 }).waitFor();
}

function resultArea(page: Page) {
  return page.getByRole('region', { name: 'Result' });
}

function resultStatus(page: Page) {
  return resultArea(page).getByRole('status');
}

describe("the page's reader of tool-call streams", () => {
  it('splits events on any line ending, even one cut between chunks, and skips comments', () => {
    const events: StreamEvent[] = [];
    const parser = new EventStreamParser((event) => events.push(event));
    for (const chunk of [': connected\r', '\n\r\nevent: progress\r', '\ndata: {"progress":1}\r\n', '\r\n']) {
      parser.push(chunk);
    }
    expect(events).toEqual([{ event: 'progress', data: '{"progress":1}' }]);
    parser.push('event: result\ndata:a\ndata: b\n\n: ping\n\ndata: unnamed\n\nevent: empty\n\n');
    expect(events.slice(1)).toEqual([
      { event: 'result', data: 'a\nb' },
      { event: 'message', data: 'unnamed' },
    ]);
  });

  it('reads a body whose characters are split across chunks, and delivers a last event without its blank line', async () => {
    const bytes = new TextEncoder().encode('event: result\ndata: {"text":"héllo ✓"}');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        // One byte at a time: every multi-byte character arrives cut.
        for (const byte of bytes) controller.enqueue(Uint8Array.of(byte));
        controller.close();
      },
    });
    const events: StreamEvent[] = [];
    await readEventStream(body, (event) => events.push(event));
    expect(events).toEqual([{ event: 'result', data: '{"text":"héllo ✓"}' }]);
  });
});

// Skipped only where web/dist is not built; under CI=true webPageBuilt throws instead, so CI runs it.
(built ? describe : describe.skip)('the Tool explorer', () => {
  let hub: TestHub;
  let hubUrl: string;
  let rich: RichServer;

  beforeAll(async () => {
    rich = await startRichServer();
    const port = await freePort();
    hubUrl = `http://127.0.0.1:${port}`;
    const stdio = everythingStdioCommand();
    hub = await startTestHub({
      env: { PUBLIC_URL: hubUrl },
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  everything:
    command: ${JSON.stringify(stdio.command)}
    args: ${JSON.stringify(stdio.args)}
  rich:
    type: streamable-http
    url: ${rich.url}
  impatient:
    type: streamable-http
    url: ${rich.url}
    timeout: 1500
  keyed:
    type: streamable-http
    url: ${rich.url}
    startup: false
    headers:
      X-Api-Key: '{{TRIP_KEY}}'
    customUserVars:
      TRIP_KEY: { title: API key, description: Your own key, sensitive: true }
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port, host: '127.0.0.1' });
    await hub.repos.users.create({ email: EMAIL, role: 'USER', passwordHash: cheapPasswordHash(PASSWORD) });
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await rich?.stop();
  });

  describeInChromium('in Chromium', (chromium) => {
    it('lists the tools, checks the form in the page, calls echo and shows its answer and the time it took', async () => {
      const page = chromium.page;
      const problems = watchProblems(page);
      const calls = watchCalls(page);
      await signInThroughPage(page, hubUrl, EMAIL, PASSWORD);
      await openExplorer(page);

      // Titles link to the tools; the hints the server gave show in words.
      const echoItem = everythingSection(page)
        .getByRole('listitem')
        .filter({ has: page.getByRole('link', { name: 'Echo Tool', exact: true }) });
      expect(await echoItem.getByText('Echoes back the input string').isVisible()).toBe(true);
      expect(await page.getByRole('status').first().textContent()).toMatch(/^[1-9]\d* tools$/);
      // A server that needs the user's own key first lists no tools and says where to give it.
      const keyed = page.getByRole('region', { name: 'keyed' });
      expect(await keyed.getByText(/^This server needs you first/).isVisible()).toBe(true);
      await keyed.getByRole('link', { name: 'Go to Servers' }).waitFor();
      await shootBothWidths(chromium, 'explorer-tools');

      // The filter narrows the list.
      await page.getByLabel('Filter tools').fill('tiny image');
      await expect
        .poll(() => page.getByRole('status').first().textContent())
        .toBe('1 tool match “tiny image”');
      expect(await everythingSection(page).getByRole('link').count()).toBe(1);
      await page.getByLabel('Filter tools').fill('');

      await openTool(page, 'Echo Tool');
      const hints = page.getByRole('list', { name: 'What the server says about this tool' });
      expect(await hints.getByRole('listitem').allTextContents()).toEqual([
        'Read-only',
        'Safe to repeat',
        'Closed world',
      ]);
      const message = page.getByRole('textbox', { name: 'message' });
      expect(await message.getAttribute('required')).not.toBeNull();
      await shootBothWidths(chromium, 'explorer-echo-form');

      // Required and empty: the error shows beside the field, tied to it, and nothing is called.
      await page.getByRole('button', { name: 'Call', exact: true }).click();
      const fieldError = page.locator('#root_message__error');
      await fieldError.waitFor();
      expect(await fieldError.textContent()).toBe('This field is required.');
      expect(await message.getAttribute('aria-describedby')).toContain('root_message__error');
      await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('root_message');
      expect(await resultStatus(page).textContent()).toBe('Call echo to see its result here.');
      expect(calls).toEqual([]);
      await shootBothWidths(chromium, 'explorer-echo-required');

      // Filled in and called: the echoed text and the time it took, measured in the page.
      await message.fill('hello from the explorer');
      await message.press('Enter');
      await resultArea(page).getByText('Echo: hello from the explorer').waitFor();
      expect(await resultStatus(page).textContent()).toMatch(/^Done in \d[\d,]* ms\.$/);
      expect(await fieldError.count()).toBe(0);
      expect(calls).toEqual(['echo']);

      // The last arguments come back when the tool is opened again (kept in memory only).
      await backToList(page);
      await openTool(page, 'Echo Tool');
      expect(await page.getByRole('textbox', { name: 'message' }).inputValue()).toBe(
        'hello from the explorer',
      );
      const stored = await page.evaluate<string>('JSON.stringify({ ...localStorage, ...sessionStorage })');
      expect(stored).not.toContain('hello from the explorer');
      // The tool's own address opens it directly; a reload has forgotten the arguments.
      expect(new URL(page.url()).pathname).toBe('/explorer/everything/echo');
      await page.reload();
      await page.getByRole('heading', { name: 'Echo Tool', level: 1 }).waitFor();
      expect(await page.getByRole('textbox', { name: 'message' }).inputValue()).toBe('');

      expect(problems).toEqual([]);
      expect(chromium.offLoopback).toEqual([]);
    }, 120_000);

    it('shows an image, structured content, resource links, and a tool error as an error', async () => {
      const page = chromium.page;
      const problems = watchProblems(page);
      await signInThroughPage(page, hubUrl, EMAIL, PASSWORD);
      await openExplorer(page);

      // A tool without arguments is just a Call button; its image is drawn from a data: URL.
      await openTool(page, 'Get Tiny Image Tool');
      expect(await page.getByText('This tool takes no arguments.').isVisible()).toBe(true);
      await page.getByRole('button', { name: 'Call', exact: true }).click();
      const image = resultArea(page).getByRole('img', { name: 'Image returned by get-tiny-image' });
      await image.waitFor();
      await expect
        .poll(() => page.evaluate("document.querySelector('.result-image')?.naturalWidth ?? 0"))
        .toBeGreaterThan(0);
      expect(await resultArea(page).getByText('The image above is the MCP logo.').isVisible()).toBe(true);
      await shootBothWidths(chromium, 'explorer-image-result');

      // Structured content, checked against the output schema the tool declared.
      await backToList(page);
      await openTool(page, 'Get Structured Content Tool');
      await page.getByRole('combobox', { name: 'location' }).selectOption('Chicago');
      await page.getByRole('button', { name: 'Call', exact: true }).click();
      await resultArea(page).getByRole('heading', { name: 'Structured content' }).waitFor();
      expect(await resultArea(page).getByText("Matches the tool's output schema.").isVisible()).toBe(true);
      expect(await resultArea(page).locator('.structured pre').textContent()).toContain('"temperature"');

      // Resource links are described, not fetched.
      await backToList(page);
      await openTool(page, 'Get Resource Links Tool');
      await page.getByRole('button', { name: 'Call', exact: true }).click();
      await resultArea(page).getByText('Link to a resource').first().waitFor();
      expect(
        await resultArea(page)
          .getByText(/^demo:\/\/resource\//)
          .count(),
      ).toBeGreaterThan(0);

      // A tool that fails on its own (isError) is shown as an error, with its text.
      await backToList(page);
      await openTool(page, 'GZip File as Resource Tool');
      await page.getByRole('textbox', { name: 'data', exact: true }).fill('ftp://127.0.0.1/nothing');
      await page.getByRole('button', { name: 'Call', exact: true }).click();
      const alert = resultArea(page).getByRole('alert');
      await alert.waitFor();
      expect(await alert.textContent()).toContain('The tool reported an error:');
      expect(await alert.textContent()).toContain('Unsupported URL protocol');
      expect(await resultStatus(page).textContent()).toMatch(
        /^The tool reported an error after \d[\d,]* ms\.$/,
      );
      await shootBothWidths(chromium, 'explorer-tool-error');

      expect(problems).toEqual([]);
      expect(chromium.offLoopback).toEqual([]);
    }, 120_000);

    it('follows a long call with progress, cancels it, and calls again', async () => {
      const page = chromium.page;
      const problems = watchProblems(page);
      await signInThroughPage(page, hubUrl, EMAIL, PASSWORD);
      await openExplorer(page);
      await openTool(page, 'Trigger Long Running Operation Tool');

      // 30 steps of a second each: long enough to see progress and to cancel in the middle.
      await page.getByRole('spinbutton', { name: 'duration' }).fill('30');
      await page.getByRole('spinbutton', { name: 'steps' }).fill('30');
      await page.getByRole('button', { name: 'Call', exact: true }).click();
      expect(await resultStatus(page).textContent()).toBe('Calling trigger-long-running-operation…');
      // Call stays focusable while the call runs, but says it is unavailable.
      expect(
        await page.getByRole('button', { name: 'Call', exact: true }).getAttribute('aria-disabled'),
      ).toBe('true');
      const progress = resultArea(page).getByRole('progressbar', { name: 'Progress' });
      await expect.poll(() => progress.getAttribute('max'), { timeout: 10_000 }).toBe('30');
      await resultArea(page)
        .getByText(/^Step [1-9]\d* of 30/)
        .waitFor();
      await shootBothWidths(chromium, 'explorer-progress');

      await page.getByRole('button', { name: 'Cancel' }).click();
      await resultArea(page)
        .getByText(/^Cancelled\. The hub asked the server to stop/)
        .waitFor();
      expect(await resultStatus(page).textContent()).toMatch(/^Cancelled after \d[\d,]* ms\.$/);
      expect(await progress.count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
      // The focus that was on Cancel goes to Call, which works again.
      await expect.poll(() => page.evaluate('document.activeElement?.textContent')).toBe('Call');

      await page.getByRole('spinbutton', { name: 'duration' }).fill('1');
      await page.getByRole('spinbutton', { name: 'steps' }).fill('2');
      await page.getByRole('button', { name: 'Call', exact: true }).click();
      await resultArea(page)
        .getByText('Long running operation completed. Duration: 1 seconds, Steps: 2.')
        .waitFor({ timeout: 15_000 });
      expect(await resultStatus(page).textContent()).toMatch(/^Done in \d[\d,]* ms\.$/);

      expect(problems).toEqual([]);
      expect(chromium.offLoopback).toEqual([]);
    }, 120_000);

    it('fills nested objects and lists by keyboard, checks bounds, and shows audio and embedded resources', async () => {
      const page = chromium.page;
      const problems = watchProblems(page);
      const calls = watchCalls(page);
      await signInThroughPage(page, hubUrl, EMAIL, PASSWORD);
      await openExplorer(page);
      await page.getByRole('region', { name: 'rich' }).getByRole('link', { name: 'Plan a trip' }).waitFor();
      await openTool(page, 'Plan a trip', 'rich');
      const hints = page.getByRole('list', { name: 'What the server says about this tool' });
      expect(await hints.getByRole('listitem').allTextContents()).toEqual([
        'Makes changes',
        'May delete or overwrite',
      ]);

      // Out of bounds: each field says what is wrong, beside it, and nothing is called.
      await page.getByRole('textbox', { name: 'destination' }).fill('X');
      await page.getByRole('spinbutton', { name: 'nights' }).fill('40');
      await page.getByRole('button', { name: 'Call', exact: true }).click();
      await page.locator('#root_destination__error').waitFor();
      expect(await page.locator('#root_destination__error').textContent()).toBe(
        'Should be at least 2 characters long.',
      );
      expect(await page.locator('#root_nights__error').textContent()).toBe('Should be at most 30.');
      expect(calls).toEqual([]);

      await page.getByRole('textbox', { name: 'destination' }).fill('Lisbon');
      await page.getByRole('spinbutton', { name: 'nights' }).fill('3');

      // Two travellers added by keyboard, then the second moved up.
      const add = page.getByRole('button', { name: 'Add item' }).first();
      await add.focus();
      await page.keyboard.press('Enter');
      await page.keyboard.press('Enter');
      const names = page.getByRole('textbox', { name: 'name' });
      await expect.poll(() => names.count()).toBe(2);
      await names.nth(0).fill('Ana');
      await names.nth(1).fill('Ben');
      await page.getByRole('spinbutton', { name: 'age' }).nth(1).fill('40');
      await page
        .getByRole('group', { name: 'Item 2' })
        .getByRole('button', { name: 'Move up' })
        .press('Enter');
      await expect.poll(() => names.nth(0).inputValue()).toBe('Ben');
      await page.getByRole('checkbox', { name: 'window' }).check();
      await page.getByRole('combobox', { name: 'meal' }).selectOption('veg');
      // A value of either of two types (a union), filled with words.
      await page.getByRole('textbox', { name: 'budget' }).fill('about 500');
      await shootBothWidths(chromium, 'explorer-nested-form');

      await page.getByRole('button', { name: 'Call', exact: true }).click();
      const result = resultArea(page);
      await result.locator('audio').waitFor();
      expect(JSON.parse((await result.locator('pre').first().textContent()) ?? '')).toEqual({
        destination: 'Lisbon',
        nights: 3,
        travellers: [{ name: 'Ben', age: 40 }, { name: 'Ana' }],
        options: { window: true, meal: 'veg' },
        budget: 'about 500',
      });
      expect(await result.getByLabel('Audio returned by plan-trip').getAttribute('controls')).not.toBeNull();
      // The player read the data: URL (the page's CSP allows data: media): 800 samples at 8 kHz.
      await expect.poll(() => page.evaluate("document.querySelector('.result audio')?.duration")).toBe(0.1);
      expect(await result.getByText('Day 1: arrive').isVisible()).toBe(true);
      expect(await result.getByText('Binary, 3 bytes (not shown)').isVisible()).toBe(true);
      expect(calls).toEqual(['plan-trip']);
      await shootBothWidths(chromium, 'explorer-rich-result');

      expect(problems).toEqual([]);
      expect(chromium.offLoopback).toEqual([]);
    }, 120_000);

    it("shows the hub's error when the server does not answer in time, and tools answering after it", async () => {
      const page = chromium.page;
      const problems = watchProblems(page);
      await signInThroughPage(page, hubUrl, EMAIL, PASSWORD);
      await openExplorer(page);
      await page
        .getByRole('region', { name: 'impatient' })
        .getByRole('link', { name: 'Take a nap' })
        .waitFor();

      // `impatient` allows 1.5 s: a 4 s nap ends in the hub's timeout error, sent in the stream.
      await openTool(page, 'Take a nap', 'impatient');
      await page.getByRole('spinbutton', { name: 'seconds' }).fill('4');
      await page.getByRole('button', { name: 'Call', exact: true }).click();
      const alert = resultArea(page).getByRole('alert');
      await alert.waitFor();
      expect(await alert.textContent()).toBe('MCP server did not answer in time');
      expect(await resultStatus(page).textContent()).toMatch(/^The call failed after \d[\d,]* ms\.$/);
      await shootBothWidths(chromium, 'explorer-hub-error');

      await page.getByRole('spinbutton', { name: 'seconds' }).fill('0');
      await page.getByRole('button', { name: 'Call', exact: true }).click();
      await resultArea(page).getByText('Slept 0 s').waitFor();
      expect(await alert.count()).toBe(0);

      expect(problems).toEqual([]);
      expect(chromium.offLoopback).toEqual([]);
    }, 120_000);

    it('Cancel stops the call at the server itself', async () => {
      const page = chromium.page;
      const problems = watchProblems(page);
      await signInThroughPage(page, hubUrl, EMAIL, PASSWORD);
      await openExplorer(page);
      await page.getByRole('region', { name: 'rich' }).getByRole('link', { name: 'Take a nap' }).waitFor();
      await openTool(page, 'Take a nap', 'rich');

      const before = rich.napsCancelled();
      await page.getByRole('spinbutton', { name: 'seconds' }).fill('60');
      await page.getByRole('button', { name: 'Call', exact: true }).click();
      await page.getByRole('button', { name: 'Cancel' }).click();
      await resultArea(page)
        .getByText(/^Cancelled\. The hub asked the server to stop/)
        .waitFor();
      // The hub passed the cancel on: the server's handler saw its signal abort.
      await expect.poll(() => rich.napsCancelled(), { timeout: 10_000 }).toBe(before + 1);

      expect(problems).toEqual([]);
      expect(chromium.offLoopback).toEqual([]);
    }, 120_000);
  });
});
