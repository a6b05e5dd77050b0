import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CancelledError, JobQueue, QueueFullError } from './queue.ts';

/** A task that runs until `release()` is called, and records when it starts. */
function gate(log: string[], name: string) {
  let release!: (v: string) => void;
  const done = new Promise<string>((r) => (release = r));
  return { task: () => (log.push(`start ${name}`), done), release: () => release(name) };
}

describe('JobQueue', () => {
  it('runs one task at a time, in order of arrival', async () => {
    const q = new JobQueue(4);
    const log: string[] = [];
    const [a, b, c] = [gate(log, 'a'), gate(log, 'b'), gate(log, 'c')];
    const results = [q.run(a.task), q.run(b.task), q.run(c.task)];
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(log, ['start a']);
    assert.deepEqual([q.stats.running, q.stats.waiting], [true, 2]);
    a.release();
    await results[0];
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(log, ['start a', 'start b']);
    b.release();
    c.release();
    assert.deepEqual(await Promise.all(results), ['a', 'b', 'c']);
    await q.whenIdle();
    assert.equal(q.stats.completed, 3);
  });

  it('refuses a task past maxWaiting with a Retry-After estimate, and takes it again once there is room', async () => {
    const q = new JobQueue(1);
    const log: string[] = [];
    const [a, b] = [gate(log, 'a'), gate(log, 'b')];
    const ra = q.run(a.task);
    const rb = q.run(b.task);
    await assert.rejects(q.run(async () => 'c'), (err: unknown) => err instanceof QueueFullError && err.retryAfterSeconds >= 1);
    a.release();
    await ra;
    const rc = q.run(async () => 'c');
    b.release();
    assert.deepEqual(await Promise.all([rb, rc]), ['b', 'c']);
  });

  it('drops a cancelled waiting task without running it, freeing its place', async () => {
    const q = new JobQueue(1);
    const log: string[] = [];
    const [a, b] = [gate(log, 'a'), gate(log, 'b')];
    const ra = q.run(a.task);
    const controller = new AbortController();
    const rb = q.run(b.task, controller.signal);
    controller.abort(new Error('client left'));
    await assert.rejects(rb, (err: unknown) => err instanceof CancelledError && !err.started);
    assert.equal(q.stats.waiting, 0);
    // Its place is free again.
    const rc = q.run(async () => 'c');
    a.release();
    assert.deepEqual(await Promise.all([ra, rc]), ['a', 'c']);
    assert.deepEqual(log, ['start a']);
    assert.equal(q.stats.cancelledWaiting, 1);
  });

  it('releases the caller of a cancelled running task at once but runs nothing else until it ends', async () => {
    const q = new JobQueue(2);
    const log: string[] = [];
    const [a, b] = [gate(log, 'a'), gate(log, 'b')];
    const controller = new AbortController();
    const ra = q.run(a.task, controller.signal);
    const rb = q.run(b.task);
    await new Promise((r) => setImmediate(r));
    controller.abort(new Error('timeout'));
    await assert.rejects(ra, (err: unknown) => err instanceof CancelledError && err.started);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(log, ['start a'], 'b must wait until a really ends');
    assert.equal(q.stats.running, true);
    a.release();
    b.release();
    assert.equal(await rb, 'b');
    assert.equal(q.stats.cancelledRunning, 1);
  });

  it('passes a failing task\'s error to its caller and carries on', async () => {
    const q = new JobQueue(2);
    const failing = q.run(async () => {
      throw new Error('boom');
    });
    const next = q.run(async () => 'next');
    await assert.rejects(failing, /boom/);
    assert.equal(await next, 'next');
  });
});
