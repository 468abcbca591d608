#!/usr/bin/env node
// The `switchboard` command: runs the compiled CLI (built by `npm install` through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
if (!existsSync(entry)) {
  console.error('switchboard: dist/main.js is missing; run `npm run build` first.');
  process.exit(1);
}
await import(entry);
