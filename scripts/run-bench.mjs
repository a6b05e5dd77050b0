#!/usr/bin/env node
// `npm run bench -- <name>` runs bench/<name>.ts. Each benchmark prints a table and ends with one JSON line.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { hugePagesEnv } from '../bin/huge-pages.mjs';

const [name, ...rest] = process.argv.slice(2);
const available = readdirSync('bench').filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name> [args]\navailable: ${available.join(', ')}`);
  process.exit(2);
}
const file = `bench/${name}.ts`;
if (!existsSync(file)) process.exit(2);
// With huge pages, as the `inpaint` command runs (INPAINT_HUGE_PAGES=0: without).
const res = spawnSync(process.execPath, ['--import', 'tsx', file, ...rest], { stdio: 'inherit', env: hugePagesEnv() ?? process.env });
process.exit(res.status ?? 1);
