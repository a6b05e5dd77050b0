#!/usr/bin/env node
// The `inpaint` command. Installed from npm, the package holds the compiled JavaScript (dist/) and
// no sources, so this runs dist/cli/main.js in plain Node. In a checkout of the repository src/ is
// there: the CLI runs the TypeScript sources through tsx (a devDependency), so an edit takes effect
// at once and a dist/ left by an earlier `npm pack` is never run stale.
import { existsSync } from 'node:fs';

const sources = new URL('../src/cli/main.ts', import.meta.url);
let main;
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(sources.href));
} else {
  ({ main } = await import('../dist/cli/main.js'));
}
process.exitCode = await main(process.argv.slice(2));
