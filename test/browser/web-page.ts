import AxeBuilder from '@axe-core/playwright';
import { access } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { DEFAULT_WEB_ROOT } from '../../src/http/routes/web-app-routes.js';
import type { ChromiumHarness } from '../support/chromium.js';

/** Helpers shared by the web page's browser suites (`test/browser/web-*.test.ts`). */

export const PHONE = { width: 360, height: 740 } as const;
export const DESKTOP = { width: 1000, height: 700 } as const;

/**
 * Whether the page is built (`npm install` builds it through the root's prepare script). Under
 * CI=true a missing build is a failure, since `npm ci` should have made it; elsewhere the suites skip.
 */
export async function webPageBuilt(suite: string): Promise<boolean> {
  const built = await access(`${DEFAULT_WEB_ROOT}index.html`).then(
    () => true,
    () => false,
  );
  if (!built && process.env.CI === 'true') {
    throw new Error('web/dist is not built under CI=true: `npm ci` should have built it (npm run build)');
  }
  if (!built) console.warn(`[switchboard tests] skipping ${suite}: web/dist is not built (npm run build)`);
  return built;
}

/** axe-core's findings on the page as it is now, of serious or critical impact only. */
export async function seriousViolations(page: Page): Promise<{ id: string; help: string; nodes: number }[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => ({ id: violation.id, help: violation.help, nodes: violation.nodes.length }));
}

/**
 * Screenshots of the page at desktop and phone width, in light and dark, checked by axe-core in
 * both themes; asserts nothing is wider than a phone.
 */
export async function shootBothWidths(chromium: ChromiumHarness, name: string): Promise<void> {
  const page = chromium.page;
  await page.setViewportSize(DESKTOP);
  await chromium.screenshot(`web-${name}-desktop`);
  await page.emulateMedia({ colorScheme: 'dark' });
  await chromium.screenshot(`web-${name}-desktop-dark`);
  expect(await seriousViolations(page)).toEqual([]);
  await page.setViewportSize(PHONE);
  expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
  await chromium.screenshot(`web-${name}-phone-dark`);
  await page.emulateMedia({ colorScheme: 'light' });
  await chromium.screenshot(`web-${name}-phone`);
  expect(await seriousViolations(page)).toEqual([]);
  await page.setViewportSize(DESKTOP);
}

/** Signs in through the page's own form and waits for the Servers screen. */
export async function signInThroughPage(page: Page, hubUrl: string, email: string, password: string) {
  await page.goto(hubUrl);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Servers', level: 1 }).waitFor();
}
