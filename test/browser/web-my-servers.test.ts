import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEverything, type RunningEverything } from '../peers/everything.js';
import { describeInChromium, type ChromiumHarness } from '../support/chromium.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { freePort } from '../support/mcp-helpers.js';
import { cheapPasswordHash } from './cheap-password.js';
import { DESKTOP, shootBothWidths, signInThroughPage, webPageBuilt } from './web-page.js';

const PASSWORD = 'correct horse battery staple';
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const TITLE = 'Team tools';
const GROUP = 'Design team';

const built = await webPageBuilt('the My servers suite');

/** The card of one server on the My servers screen, found by its heading. */
function card(page: Page, title: string): Locator {
  return page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: title, level: 2 }) });
}

/** Goes to My servers through the navigation and waits for the list (or its empty state). */
async function openMyServers(page: Page): Promise<void> {
  await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'My servers' }).click();
  await page.getByRole('heading', { name: 'My servers', level: 1 }).waitFor();
  await page.locator('.ms-cards, .empty').first().waitFor();
}

/** The text of the errors a field points at with aria-describedby (its hint left out). */
async function errorsOf(field: Locator): Promise<string> {
  const ids = ((await field.getAttribute('aria-describedby')) ?? '')
    .split(' ')
    .filter((id) => id.endsWith('-errors'));
  expect(ids, 'the field points at its errors').toHaveLength(1);
  expect(await field.getAttribute('aria-invalid')).toBe('true');
  return (await field.page().locator(`[id="${ids[0]}"]`).textContent()) ?? '';
}

/** Opens the Share dialog of a server and waits for its list of grants. */
async function openShare(page: Page, title: string): Promise<Locator> {
  await card(page, title)
    .getByRole('button', { name: `Share ${title}` })
    .click();
  const dialog = page.getByRole('dialog', { name: `Share ${title}` });
  await dialog.getByRole('heading', { name: 'People and groups' }).waitFor();
  return dialog;
}

/** Shares a server with a person by address, through the dialog's people search. */
async function shareWith(page: Page, title: string, email: string): Promise<Locator> {
  const dialog = await openShare(page, title);
  await dialog.getByLabel('Add a person or group').fill(email);
  await dialog.getByRole('button', { name: `Add ${email}` }).click();
  expect(await dialog.getByLabel(`What ${email} may do`).inputValue()).toBe('viewer');
  return dialog;
}

(built ? describe : describe.skip)('the My servers screen', () => {
  let hub: TestHub;
  let hubUrl: string;
  let everything: RunningEverything;

  beforeAll(async () => {
    everything = await startEverything('streamableHttp');
    const port = await freePort();
    hubUrl = `http://127.0.0.1:${port}`;
    // The upstream's loopback address is the only one user servers may reach.
    hub = await startTestHub({
      env: { PUBLIC_URL: hubUrl },
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1:${new URL(everything.url).port}']
roles:
  USER: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: false } }
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port, host: '127.0.0.1' });
    const users = [];
    for (const email of [ALICE, BOB]) {
      users.push(
        await hub.repos.users.create({ email, role: 'USER', passwordHash: cheapPasswordHash(PASSWORD) }),
      );
    }
    // A group Alice is in (the people search offers the caller's own groups); Bob is not in it.
    const group = await hub.repos.groups.create(GROUP);
    await hub.repos.groups.addMember(group.id, users[0]!.id);
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await everything?.stop();
  });

  describeInChromium('in Chromium', (chromium: ChromiumHarness) => {
    it('adds a server from a URL, edits it, shares it with Bob and takes it back, and deletes it', async () => {
      const alice = chromium.page;
      const problems: string[] = [];
      const watch = (page: Page) => {
        page.on('pageerror', (error) => problems.push(error.message));
        page.on('console', (message) => {
          // The browser logs each refused call as an error: the signed-out session check (401) and
          // the 400s and 403s this test provokes. Nothing else: the dialogs' scroll-lock <style>
          // carries the page's nonce, so no CSP refusal is expected.
          const text = message.text();
          const expected = /status of 40[013]/.test(text);
          if (message.type() === 'error' && !expected) problems.push(text);
        });
      };
      watch(alice);
      await signInThroughPage(alice, hubUrl, ALICE, PASSWORD);
      await openMyServers(alice);
      expect(await alice.getByRole('heading', { name: 'No servers here yet' }).isVisible()).toBe(true);

      // A bad URL and no title: the hub's messages beside the two fields, the keyboard on the first.
      await alice.getByRole('link', { name: 'Add a server' }).click();
      await alice.getByRole('heading', { name: 'Add a server', level: 1 }).waitFor();
      const title = alice.getByLabel('Title', { exact: false });
      const url = alice.getByLabel(/^URL/);
      await url.fill('ftp://example.com/mcp');
      await alice.getByRole('button', { name: 'Add server' }).click();
      await alice.getByRole('alert').filter({ hasText: 'did not save' }).waitFor();
      expect(await errorsOf(url)).toContain('must be an http:// or https:// URL');
      expect(await errorsOf(title)).toContain('must not be empty');
      const titleId = await title.getAttribute('id');
      await expect.poll(() => alice.evaluate('document.activeElement?.id')).toBe(titleId);
      await shootBothWidths(chromium, 'my-servers-form-errors');

      // An address the egress allowlist refuses: explained in plain words, nothing saved.
      await title.fill(TITLE);
      await url.fill('http://169.254.169.254/mcp');
      await alice.getByRole('button', { name: 'Add server' }).click();
      const explanation = alice.getByTestId('egress-explanation');
      await explanation.waitFor();
      expect(await errorsOf(url)).toContain('not allowed');
      expect(await explanation.textContent()).toContain('ask your hub');
      expect(await explanation.textContent()).toContain('Nothing was sent to this address');
      expect((await url.getAttribute('aria-describedby'))?.split(' ')).toContain(
        await explanation.getAttribute('id'),
      );
      await chromium.screenshot('web-my-servers-egress');

      // The real upstream, with a header: saved, and listed as Alice's own.
      await url.fill(everything.url);
      await alice.getByRole('button', { name: 'Add a header' }).click();
      await alice.getByLabel('Header 1 name').fill('X-Team');
      await alice.getByLabel('Header 1 value').fill('blue-team-key');
      await alice.getByRole('button', { name: 'Add server' }).click();
      await alice
        .getByRole('status')
        .filter({ hasText: `${TITLE} was added.` })
        .waitFor();
      const aliceCard = card(alice, TITLE);
      await aliceCard.getByTestId('access').getByText('Yours', { exact: true }).waitFor();
      expect(await aliceCard.getByText(everything.url).isVisible()).toBe(true);
      expect(await aliceCard.getByText(/\d+ tools/).textContent()).toMatch(/[1-9]\d* tools/);
      await aliceCard.getByTestId('sharing').getByText('Not shared.').waitFor();
      // The header's value never comes back to the page.
      expect(await alice.content()).not.toContain('blue-team-key');
      await shootBothWidths(chromium, 'my-servers-list');

      // Edit the description; the saved header value is kept without being shown.
      await aliceCard.getByRole('link', { name: `Edit ${TITLE}` }).click();
      await alice.getByRole('heading', { name: `Edit ${TITLE}`, level: 1 }).waitFor();
      expect(await alice.getByLabel('Header 1 name').inputValue()).toBe('X-Team');
      expect(await alice.getByLabel('Header 1 value').inputValue()).toBe('');
      expect(await alice.getByLabel('Header 1 value').getAttribute('placeholder')).toBe('Saved value kept');
      // A nested field's message lands beside it too: the OAuth block's token URL.
      await alice.getByLabel('Give OAuth settings by hand').check();
      const tokenUrl = alice.getByLabel('Token URL');
      await tokenUrl.fill('not a url');
      await alice.getByRole('button', { name: 'Save changes' }).click();
      await alice.getByRole('alert').filter({ hasText: 'did not save' }).waitFor();
      expect(await errorsOf(tokenUrl)).toContain('must be an http:// or https:// URL');
      await chromium.screenshot('web-my-servers-oauth-error');
      await alice.getByLabel('Give OAuth settings by hand').uncheck();
      await alice.getByLabel('Description').fill('Tools the whole team uses');
      await alice.getByRole('button', { name: 'Save changes' }).click();
      await alice
        .getByRole('status')
        .filter({ hasText: `${TITLE} was saved.` })
        .waitFor();
      await aliceCard.getByText('Tools the whole team uses').waitFor();
      // The header is still there, its value still sealed in the store.
      const view = await alice.evaluate(async () => (await fetch('/api/mcp/servers/team-tools')).json());
      expect(view).toMatchObject({ description: 'Tools the whole team uses', headers: { 'X-Team': '***' } });
      expect(typeof (await hub.repos.servers.findByName('team-tools'))?.secrets).toBe('string');

      // The share dialog by keyboard: Enter opens it with the focus inside, Escape closes it and
      // gives the focus back to its button.
      const shareButton = aliceCard.getByRole('button', { name: `Share ${TITLE}` });
      await shareButton.focus();
      await alice.keyboard.press('Enter');
      let dialog = alice.getByRole('dialog', { name: `Share ${TITLE}` });
      await dialog.getByRole('heading', { name: 'People and groups' }).waitFor();
      const dialogId = await dialog.getAttribute('id');
      await expect
        .poll(() => alice.evaluate('document.activeElement?.closest("[role=dialog]")?.id'))
        .toBe(dialogId);
      await alice.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      // Radix moves the focus back as the dialog unmounts: wait for it rather than race it.
      await expect.poll(() => alice.evaluate('document.activeElement?.textContent')).toBe(`Share ${TITLE}`);

      // Share with Bob and with Alice's group, as viewers.
      dialog = await shareWith(alice, TITLE, BOB);
      await dialog.getByLabel('Add a person or group').fill('design');
      await dialog.getByRole('button', { name: `Add group ${GROUP}` }).click();
      await dialog.getByLabel(`What group ${GROUP} may do`).selectOption('editor');
      await shootBothWidths(chromium, 'my-servers-share');
      await dialog.getByRole('button', { name: 'Save sharing' }).click();
      await dialog.waitFor({ state: 'detached' });
      await aliceCard.getByText(`Shared with ${BOB} (can use), group ${GROUP} (can use and edit)`).waitFor();

      // Bob, in a browser of his own, sees it as shared with him and cannot delete it.
      const bobContext: BrowserContext = await chromium.context.browser()!.newContext({ viewport: DESKTOP });
      // The harness's own contexts fail a missing element after 10 s; Bob's does the same.
      bobContext.setDefaultTimeout(10_000);
      bobContext.setDefaultNavigationTimeout(10_000);
      try {
        const offLoopbackBob: string[] = [];
        bobContext.on('request', (request) => {
          const host = new URL(request.url()).hostname;
          if (request.url().startsWith('http') && host !== '127.0.0.1') offLoopbackBob.push(request.url());
        });
        const bob = await bobContext.newPage();
        watch(bob);
        await signInThroughPage(bob, hubUrl, BOB, PASSWORD);
        await openMyServers(bob);
        const bobCard = card(bob, TITLE);
        await bobCard.getByTestId('access').getByText('Shared with you: can use', { exact: true }).waitFor();
        expect(await bobCard.getByText('Tools the whole team uses').isVisible()).toBe(true);
        expect(await bobCard.getByRole('button', { name: /Delete/ }).count()).toBe(0);
        expect(await bobCard.getByRole('link', { name: /Edit/ }).count()).toBe(0);
        expect(await bobCard.getByRole('button', { name: /Share/ }).count()).toBe(0);
        // Neither the URL nor the header is shown to a viewer.
        expect(await bobCard.getByText(everything.url).count()).toBe(0);
        await chromium.screenshot('web-my-servers-shared-with-bob', bob);
        // And the hub refuses the delete if he tries it anyway.
        const refused = await bob.evaluate(async () => {
          const session = (await (await fetch('/api/auth/session')).json()) as { csrfToken: string };
          const answer = await fetch('/api/mcp/servers/team-tools', {
            method: 'DELETE',
            headers: { 'x-csrf-token': session.csrfToken },
          });
          return answer.status;
        });
        expect(refused).toBe(403);

        // Alice takes it back: gone from Bob's list once it is read again.
        dialog = await openShare(alice, TITLE);
        await dialog.getByRole('button', { name: `Remove ${BOB}` }).click();
        expect(await dialog.getByText(BOB, { exact: true }).count()).toBe(0);
        await dialog.getByRole('button', { name: 'Save sharing' }).click();
        await dialog.waitFor({ state: 'detached' });
        await aliceCard.getByText(`Shared with group ${GROUP} (can use and edit)`).waitFor();
        await bob.reload();
        await bob.getByRole('heading', { name: 'No servers here yet' }).waitFor();
        expect(await card(bob, TITLE).count()).toBe(0);

        // Shared again, then deleted: gone for both.
        dialog = await shareWith(alice, TITLE, BOB);
        await dialog.getByRole('button', { name: 'Save sharing' }).click();
        await dialog.waitFor({ state: 'detached' });
        await bob.reload();
        await card(bob, TITLE).waitFor();
        await aliceCard.getByRole('button', { name: `Delete ${TITLE}` }).click();
        const confirm = alice.getByRole('dialog', { name: `Delete ${TITLE}?` });
        await confirm.getByRole('button', { name: 'Delete server' }).click();
        await confirm.waitFor({ state: 'detached' });
        await alice.getByRole('heading', { name: 'No servers here yet' }).waitFor();
        expect(await hub.repos.servers.findByName('team-tools')).toBeNull();
        await bob.reload();
        await bob.getByRole('heading', { name: 'No servers here yet' }).waitFor();
        expect(await card(bob, TITLE).count()).toBe(0);
        expect(offLoopbackBob).toEqual([]);
      } finally {
        await bobContext.close();
      }

      expect(problems).toEqual([]);
      expect(chromium.offLoopback).toEqual([]);
    }, 180_000);
  });
});

(built ? describe : describe.skip)('the My servers screen, for a role that may not add servers', () => {
  let hub: TestHub;
  let hubUrl: string;

  beforeAll(async () => {
    const port = await freePort();
    hubUrl = `http://127.0.0.1:${port}`;
    hub = await startTestHub({
      env: { PUBLIC_URL: hubUrl },
      yaml: `
roles:
  USER: { MCP_SERVERS: { USE: true, CREATE: false, SHARE: false, SHARE_PUBLIC: false } }
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port, host: '127.0.0.1' });
    await hub.repos.users.create({ email: BOB, role: 'USER', passwordHash: cheapPasswordHash(PASSWORD) });
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
  });

  describeInChromium('in Chromium', (chromium: ChromiumHarness) => {
    it('offers no Add button and says why', async () => {
      const page = chromium.page;
      await signInThroughPage(page, hubUrl, BOB, PASSWORD);
      await openMyServers(page);
      await page.getByText('Your role cannot add servers; an administrator can allow it.').waitFor();
      expect(await page.getByRole('link', { name: 'Add a server' }).count()).toBe(0);
      expect(await page.getByText('Servers others share with you will show up here.').isVisible()).toBe(true);
      // Nor a form at the route itself.
      await page.goto(`${hubUrl}/my-servers/new`);
      await page.getByRole('heading', { name: 'Add a server', level: 1 }).waitFor();
      await page.getByText('Your role cannot add servers; an administrator can allow it.').waitFor();
      expect(await page.getByRole('button', { name: 'Add server' }).count()).toBe(0);
      expect(chromium.offLoopback).toEqual([]);
    }, 60_000);
  });
});
