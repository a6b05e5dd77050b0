#!/usr/bin/env node
// The `inpaint` command. Installed from npm, the package holds the compiled JavaScript (dist/) and
// no sources, so this runs dist/cli/main.js in plain Node. In a checkout of the repository src/ is
// there: the CLI runs the TypeScript sources through tsx (a devDependency), so an edit takes effect
// at once and a dist/ left by an earlier `npm pack` is never run stale.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { hugePagesEnv } from './huge-pages.mjs';

// With huge pages (huge-pages.mjs) `inpaint run` on a 512 photo takes about 5 s instead of 6, and
// the benchmark's 4000x3000 fill 1.7 to 1.9 s instead of 2.3. The command runs itself again with
// them, in its own process group (a Ctrl-C reaches it once, through this process), and passes its
// exit on.
const env = hugePagesEnv();
if (env) {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)];
  const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...env, INPAINT_WRAPPER_PID: String(process.pid) }, detached: true });
  const forward = (signal) => child.kill(signal);
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, forward);
  child.on('error', (err) => {
    console.error(`inpaint: cannot start ${process.execPath}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const s of signals) process.off(s, forward);
    if (!signal) process.exit(code ?? 1);
    // Die the way the command died, so that a caller sees the status it would without this step.
    process.exitCode = 128 + (constants.signals[signal] ?? 0);
    process.kill(process.pid, signal);
  });
} else {
  // Started by the step above: exit when it is gone (killed with SIGKILL, say), never run orphaned.
  const wrapper = Number(process.env.INPAINT_WRAPPER_PID);
  delete process.env.INPAINT_WRAPPER_PID;
  if (wrapper) setInterval(() => process.ppid !== wrapper && process.kill(process.pid, 'SIGKILL'), 200).unref();
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
}
