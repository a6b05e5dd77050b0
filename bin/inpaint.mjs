#!/usr/bin/env node
// The `inpaint` command. The library is TypeScript run through tsx (no build step); this bootstrap
// registers tsx and hands over to the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
