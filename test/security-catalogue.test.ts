import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * docs/security.md is the catalogue of the security and reliability cases this project holds
 * itself to. These checks keep it honest: every case ID that code, tests or docs cite is in the
 * catalogue, and every catalogued case names a test file that exists and cites it.
 */

const ROOT = path.resolve(import.meta.dirname, '..');
const CATALOGUE = 'docs/security.md';
const ID = /\b(?:OA|SS|AZ|IV|SE|SX|FT|LD|V)-\d{2}\b/g;
/** Where IDs may be cited: the code, the tests, the benchmarks, the docs. */
const SCANNED = ['src', 'test', 'bench', 'conformance', 'docs', 'README.md'];
const TEXT_FILE = /\.(?:ts|mts|js|mjs|md|yaml|yml|json)$/;

interface CatalogueRow {
  id: string;
  statement: string;
  tests: string[];
}

async function filesUnder(relative: string): Promise<string[]> {
  const absolute = path.join(ROOT, relative);
  if (!existsSync(absolute)) return [];
  if (TEXT_FILE.test(relative) && !(await readdir(absolute).catch(() => null))) return [relative];
  const out: string[] = [];
  for (const entry of await readdir(absolute, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const child = path.join(relative, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(child)));
    else if (TEXT_FILE.test(entry.name)) out.push(child);
  }
  return out;
}

/** Rows of the catalogue table: `| ID | statement | tests |`, tests as backticked paths. */
function parseCatalogue(text: string): CatalogueRow[] {
  const rows: CatalogueRow[] = [];
  for (const line of text.split('\n')) {
    const match = /^\|\s*((?:OA|SS|AZ|IV|SE|SX|FT|LD|V)-\d{2})\s*\|(.*)\|(.*)\|\s*$/.exec(line);
    if (!match) continue;
    const tests = [...(match[3] ?? '').matchAll(/`([^`]+\.test\.ts)`/g)].map((m) => m[1] ?? '');
    rows.push({ id: match[1] ?? '', statement: (match[2] ?? '').trim(), tests });
  }
  return rows;
}

async function citations(): Promise<Map<string, Set<string>>> {
  const cited = new Map<string, Set<string>>();
  for (const root of SCANNED) {
    for (const file of await filesUnder(root)) {
      if (file === CATALOGUE) continue;
      const text = await readFile(path.join(ROOT, file), 'utf8');
      for (const [id] of text.matchAll(ID)) {
        const where = cited.get(id) ?? new Set<string>();
        where.add(file);
        cited.set(id, where);
      }
    }
  }
  return cited;
}

describe('security catalogue (docs/security.md)', () => {
  it('lists every case ID cited anywhere in the repository', async () => {
    const rows = parseCatalogue(await readFile(path.join(ROOT, CATALOGUE), 'utf8'));
    const listed = new Set(rows.map((r) => r.id));
    const missing = [...(await citations())]
      .filter(([id]) => !listed.has(id))
      .map(([id, files]) => `${id} (cited in ${[...files].join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('gives every catalogued case a statement and tests that exist and cite it', async () => {
    const rows = parseCatalogue(await readFile(path.join(ROOT, CATALOGUE), 'utf8'));
    expect(rows.length).toBeGreaterThan(0);
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const row of rows) {
      if (seen.has(row.id)) problems.push(`${row.id}: listed twice`);
      seen.add(row.id);
      if (row.statement.length < 10) problems.push(`${row.id}: no statement`);
      if (row.tests.length === 0) problems.push(`${row.id}: no test named`);
      for (const test of row.tests) {
        const file = path.join(ROOT, test);
        if (!existsSync(file)) {
          problems.push(`${row.id}: ${test} does not exist`);
          continue;
        }
        const text = await readFile(file, 'utf8');
        if (!new RegExp(`\\b${row.id}\\b`).test(text)) problems.push(`${row.id}: ${test} does not cite it`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('keeps readers inside the repository: no file points to design notes kept elsewhere', async () => {
    const outside = /\.\.\/shared\b|\b(?:DESIGN|SECURITY-TESTS|TEST-PEERS|CONVENTIONS|API)\.md\b/;
    const offenders: string[] = [];
    for (const root of SCANNED) {
      for (const file of await filesUnder(root)) {
        if (file === 'test/security-catalogue.test.ts') continue;
        const lines = (await readFile(path.join(ROOT, file), 'utf8')).split('\n');
        lines.forEach((line, i) => {
          if (outside.test(line)) offenders.push(`${file}:${i + 1}`);
        });
      }
    }
    expect(offenders).toEqual([]);
  });
});
