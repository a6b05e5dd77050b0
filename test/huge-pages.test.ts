/**
 * bin/huge-pages.mjs and the step of bin/inpaint.mjs that starts the command again with huge pages
 * (docs/decisions/huge-pages.md): the command's process has the tunable, runs in its own process
 * group, and dies with the first process even when that one is killed with SIGKILL. The signals
 * and exit codes of `train` and `serve` through it are tested in src/training/loop.test.ts and
 * src/cli/serve.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { hugePagesEnv } from '../bin/huge-pages.mjs';

const BIN = fileURLToPath(new URL('../bin/inpaint.mjs', import.meta.url));
const glibc = process.platform === 'linux' && Boolean((process.report?.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);

/** The pids of a process's children (Linux). */
function children(pid: number): number[] {
  const file = `/proc/${pid}/task/${pid}/children`;
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) : [];
}

/** Whether a process still runs (a zombie no longer does: nothing in this sandbox may reap it). */
function running(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

const until = async (ok: () => boolean, ms: number) => {
  for (const end = Date.now() + ms; !ok() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 25));
  return ok();
};

describe('hugePagesEnv', () => {
  it('adds the tunable to those already set, and adds nothing when it is there or turned off', { skip: !glibc && 'Linux with glibc only' }, () => {
    assert.equal(hugePagesEnv({})?.GLIBC_TUNABLES, 'glibc.malloc.hugetlb=1');
    assert.equal(hugePagesEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2', PATH: '/bin' })?.GLIBC_TUNABLES, 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
    assert.equal(hugePagesEnv({ PATH: '/bin' })?.PATH, '/bin', 'the rest of the environment is kept');
    assert.equal(hugePagesEnv({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }), undefined, "a user's own setting wins");
    assert.equal(hugePagesEnv({ INPAINT_HUGE_PAGES: '0' }), undefined);
  });
});

describe('inpaint with huge pages', { skip: !glibc && 'Linux with glibc only' }, () => {
  it('runs the command in a second process with the tunable, in its own group, which dies with the first', async () => {
    // `serve` stays up until it is stopped: time to look at both processes.
    const wrapper = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GLIBC_TUNABLES: '' } });
    let output = '';
    wrapper.stdout.on('data', (d) => (output += d));
    wrapper.stderr.on('data', (d) => (output += d));
    const exited = new Promise<NodeJS.Signals | null>((r) => wrapper.once('exit', (_code, signal) => r(signal)));
    let command: number | undefined;
    try {
      assert.ok(await until(() => /open http/.test(output), 60_000), output);
      [command] = children(wrapper.pid!);
      assert.ok(command, 'the command runs in a child process');
      const environ = readFileSync(`/proc/${command}/environ`, 'utf8').split('\0');
      assert.ok(environ.includes('GLIBC_TUNABLES=glibc.malloc.hugetlb=1'), environ.filter((v) => v.startsWith('GLIBC')).join(' '));
      // Field 5 of /proc/PID/stat is the process group.
      const group = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[2]);
      assert.notEqual(group(command), group(wrapper.pid!), 'its own process group: a terminal Ctrl-C reaches it once, forwarded');
      wrapper.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL');
      assert.ok(await until(() => !running(command!), 3000), 'the command exits once the first process is gone');
    } finally {
      wrapper.kill('SIGKILL');
      // Left running, it would hold the pipes open and the test runner with them.
      if (command && running(command)) process.kill(command, 'SIGKILL');
    }
  });

  it('runs in one process with INPAINT_HUGE_PAGES=0', async () => {
    const wrapper = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, INPAINT_HUGE_PAGES: '0' } });
    let output = '';
    wrapper.stdout.on('data', (d) => (output += d));
    try {
      assert.ok(await until(() => /open http/.test(output), 60_000), output);
      assert.deepEqual(children(wrapper.pid!).filter((pid) => /inpaint\.mjs/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))), []);
    } finally {
      wrapper.kill('SIGKILL');
    }
  });
});
