import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../core/errors.ts';
import { formatDuration, formatProgress, formatScalar, ProgressBar } from './progress.ts';

/** A stream that records writes, and a clock the test moves. */
function setup(isTTY: boolean, columns?: number) {
  const writes: string[] = [];
  const clock = { t: 0 };
  const stream = { isTTY, columns, write: (s: string) => writes.push(s) };
  return { writes, clock, stream, now: () => clock.t };
}

describe('formatProgress', () => {
  const state = { step: 4500, total: 10000, imagesPerSec: 61.23, etaSec: 3725, losses: { l1: 0.31244, adv: 0.6931 }, label: 'G1' };

  it('shows the bar, step/total, images/s, ETA and the losses', () => {
    assert.equal(formatProgress(state), 'G1 [#########...........]  4500/10000  45.0% | 61.2 img/s | ETA 1h02m | l1=0.3124 adv=0.6931');
  });

  it('leaves the bar out for log lines, shows -- for unknowns, and cuts to a width', () => {
    assert.equal(formatProgress(state, { bar: false }), 'G1  4500/10000  45.0% | 61.2 img/s | ETA 1h02m | l1=0.3124 adv=0.6931');
    assert.equal(formatProgress({ step: 0, total: 7 }, { bar: false }), '0/7   0.0% | -- img/s | ETA --');
    assert.equal(formatProgress({ step: 7, total: 7, imagesPerSec: 2.5 }), '[####################] 7/7 100.0% | 2.50 img/s | ETA --');
    assert.equal(formatProgress(state, { width: 30 }), 'G1 [#########...........]  450');
  });

  it('formats durations and scalars compactly', () => {
    assert.deepEqual([0.4, 45, 125, 3725, 90000, undefined, Infinity].map(formatDuration), ['0s', '45s', '2m05s', '1h02m', '1d01h', '--', '--']);
    assert.deepEqual([0.31244, 0, 12.5, 0.000123456, 2e-5, 123456, -1.5, Number.NaN].map(formatScalar), [
      '0.3124', '0', '12.5', '1.235e-4', '2e-5', '1.235e5', '-1.5', 'NaN',
    ]);
  });
});

describe('ProgressBar', () => {
  it('on a TTY redraws one line in place, at most every 250 ms, and ends it on finish', () => {
    const { writes, clock, stream, now } = setup(true, 200);
    const bar = new ProgressBar({ total: 10, stream, now });
    for (let s = 1; s <= 9; s++) {
      bar.update(s, { loss: s });
      clock.t += 100;
    }
    // Drawn at t = 0, 300, 600 (steps 1, 4, 7); 100 and 200 ms after a draw are too soon.
    assert.equal(writes.length, 3);
    assert.ok(writes.every((w) => w.startsWith('\r') && w.endsWith('\x1b[K') && !w.includes('\n')), JSON.stringify(writes));
    assert.deepEqual(writes.map((w) => / (\d+)\/10/.exec(w)?.[1]), ['1', '4', '7']);
    bar.update(10, { loss: 10 }); // the last step is always drawn
    assert.match(writes[3], /10\/10 100\.0%.*loss=10/);
    bar.finish();
    assert.equal(writes.at(-1), '\n');
  });

  it('cuts the line to the terminal width', () => {
    const { writes, stream, now } = setup(true, 40);
    new ProgressBar({ total: 10, stream, now }).update(1, { a_long_loss_name: 1, another_one: 2 });
    assert.equal(writes[0].length, '\r'.length + 39 + '\x1b[K'.length);
  });

  it('off a TTY prints a plain line every N steps, the last step, and nothing twice', () => {
    const { writes, clock, stream, now } = setup(false);
    const bar = new ProgressBar({ total: 25, everySteps: 10, stream, now });
    for (let s = 1; s <= 25; s++) {
      clock.t += 50;
      bar.update(s);
    }
    bar.finish();
    assert.equal(writes.length, 3);
    assert.deepEqual(writes.map((w) => /^(\d+)\/25/.exec(w)?.[1]), ['10', '20', '25']);
    assert.ok(writes.every((w) => w.endsWith('\n') && !w.includes('\r') && !w.includes('[#')));
  });

  it('off a TTY, finish prints the step it stopped at', () => {
    const { writes, stream, now } = setup(false);
    const bar = new ProgressBar({ total: 100, everySteps: 10, stream, now });
    bar.update(13);
    bar.finish();
    bar.finish();
    assert.equal(writes.length, 1);
    assert.match(writes[0], /^ 13\/100/);
  });

  it('measures images/s and the ETA, smoothing with a time constant', () => {
    const { clock, stream, now } = setup(false);
    const bar = new ProgressBar({ total: 1000, imagesPerStep: 4, everySteps: 1000, smoothingSec: 10, stream, now });
    bar.update(0);
    assert.equal(bar.state().imagesPerSec, undefined);
    for (let s = 1; s <= 5; s++) {
      clock.t += 1000;
      bar.update(10 * s); // 10 steps/s
    }
    assert.equal(bar.state().imagesPerSec, 40);
    assert.equal(bar.state().etaSec, 95);
    clock.t += 1000;
    bar.update(70); // 20 steps/s for one second
    const alpha = 1 - Math.exp(-0.1);
    assert.ok(Math.abs(bar.state().imagesPerSec! - 4 * (10 + alpha * 10)) < 1e-9, String(bar.state().imagesPerSec));
  });

  it('prints messages above the bar on a TTY', () => {
    const { writes, stream, now } = setup(true);
    const bar = new ProgressBar({ total: 10, stream, now });
    bar.update(3);
    bar.message('checkpoint saved');
    assert.equal(writes[1], '\r\x1b[Kcheckpoint saved\n');
    assert.match(writes[2], /^\r.* 3\/10/);
  });

  it('rejects a bad total, batch size or interval', () => {
    assert.throws(() => new ProgressBar({ total: 0 }), UsageError);
    assert.throws(() => new ProgressBar({ total: 5, imagesPerStep: 1.5 }), UsageError);
    assert.throws(() => new ProgressBar({ total: 5, everySteps: 0 }), UsageError);
  });
});
