/**
 * Progress reporting for long jobs (training, evaluation, data preparation).
 *
 * On a terminal one line is redrawn in place, at most ~4 times a second so that drawing costs nothing
 * next to a training step; in a log file or CI (not a TTY) carriage returns would pile up into one
 * enormous line, so a plain line is printed every N steps instead.
 */
import { expect } from '../core/errors.ts';

/** Everything one progress line shows. */
export interface ProgressState {
  step: number;
  total: number;
  /** Smoothed throughput; undefined until it can be measured. */
  imagesPerSec?: number;
  /** Seconds left; undefined until it can be estimated. */
  etaSec?: number;
  /** Latest named scalars, shown in insertion order. */
  losses?: Readonly<Record<string, number>>;
  /** A prefix naming the job. */
  label?: string;
}

export interface FormatOptions {
  /** Draw a bar (for terminals; log lines leave it out). Default true. */
  bar?: boolean;
  /** Cut the line to this many columns (a terminal line that wraps cannot be redrawn in place). */
  width?: number;
}

const BAR_WIDTH = 20;

/**
 * Seconds as a compact duration: 45s, 2m05s, 1h02m, 3d04h; '--' when unknown or not finite.
 * @example formatDuration(3725) // '1h02m'
 */
export function formatDuration(sec: number | undefined): string {
  if (sec === undefined || !Number.isFinite(sec) || sec < 0) return '--';
  const s = Math.round(sec);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${pad(Math.floor((s % 86400) / 3600))}h`;
}

/**
 * A scalar in at most 4 significant digits, exponent form for very small or large magnitudes.
 * @example formatScalar(0.000123456) // '1.235e-4'
 */
export function formatScalar(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3).replace(/\.?0+e/, 'e').replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
}

/**
 * One progress line, e.g. `G1 [#########...........] 4500/10000  45.0% | 61.2 img/s | ETA 1h02m | l1=0.3124 adv=0.6931`.
 * @example formatProgress({ step: 5, total: 10, imagesPerSec: 8, etaSec: 30, losses: { l1: 0.5 } }, { bar: false })
 */
export function formatProgress(state: ProgressState, options: FormatOptions = {}): string {
  const { step, total } = state;
  const fraction = total > 0 ? Math.min(1, Math.max(0, step / total)) : 0;
  const parts: string[] = [];
  if (state.label) parts.push(state.label);
  if (options.bar ?? true) {
    const filled = Math.round(fraction * BAR_WIDTH);
    parts.push(`[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`);
  }
  const digits = String(total).length;
  parts.push(`${String(step).padStart(digits)}/${total} ${(100 * fraction).toFixed(1).padStart(5)}%`);
  let line = parts.join(' ');
  const rate = state.imagesPerSec === undefined ? '--' : state.imagesPerSec.toFixed(state.imagesPerSec < 10 ? 2 : 1);
  line += ` | ${rate} img/s | ETA ${formatDuration(state.etaSec)}`;
  const losses = Object.entries(state.losses ?? {});
  if (losses.length > 0) line += ` | ${losses.map(([k, v]) => `${k}=${formatScalar(v)}`).join(' ')}`;
  return options.width !== undefined && line.length > options.width ? line.slice(0, Math.max(0, options.width)) : line;
}

/** Where a progress bar writes: `process.stdout`, `process.stderr`, or anything with `write`. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  /** Terminal width, when known. */
  columns?: number;
}

export interface ProgressOptions {
  /** Number of steps of the job. */
  total: number;
  /** Images processed per step (the batch size), for images/s. Default 1. */
  imagesPerStep?: number;
  label?: string;
  /** Default `process.stdout`. */
  stream?: ProgressStream;
  /** Off a TTY, print a line every this many steps. Default 100. */
  everySteps?: number;
  /** On a TTY, redraw at most this often. Default 250 ms (4 Hz). */
  minIntervalMs?: number;
  /**
   * Time constant of the throughput average, in seconds: a rate measured `smoothingSec` ago counts
   * 1/e as much as the current one. Weighting by time, not by update, keeps the estimate steady
   * whether `update` is called every step or every hundred. Default 10.
   */
  smoothingSec?: number;
  /** Clock in milliseconds; injectable for tests. Default `performance.now`. */
  now?: () => number;
}

/**
 * A progress bar that writes to a stream.
 * @example
 *   const bar = new ProgressBar({ total: steps, imagesPerStep: batch, label: 'G1' });
 *   for (let s = 1; s <= steps; s++) { const m = await trainStep(); bar.update(s, { l1: m.l1, adv: m.adv }); }
 *   bar.finish();
 */
export class ProgressBar {
  private readonly total: number;
  private readonly imagesPerStep: number;
  private readonly label: string | undefined;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly everySteps: number;
  private readonly minIntervalMs: number;
  private readonly smoothingSec: number;
  private readonly now: () => number;
  private step = 0;
  private losses: Record<string, number> = {};
  private lastUpdate: { step: number; t: number } | null = null;
  private stepsPerSec: number | undefined;
  private lastDraw = -Infinity;
  private drawnStep = -1;
  private finished = false;

  /** @throws UsageError for a total, imagesPerStep or everySteps that is not a positive integer */
  constructor(options: ProgressOptions) {
    const positive = (name: string, v: number) => expect(Number.isInteger(v) && v > 0, name, 'a positive integer', v);
    positive('total', options.total);
    positive('imagesPerStep', options.imagesPerStep ?? 1);
    positive('everySteps', options.everySteps ?? 100);
    this.total = options.total;
    this.imagesPerStep = options.imagesPerStep ?? 1;
    this.label = options.label;
    this.stream = options.stream ?? process.stdout;
    this.tty = this.stream.isTTY === true;
    this.everySteps = options.everySteps ?? 100;
    this.minIntervalMs = options.minIntervalMs ?? 250;
    this.smoothingSec = options.smoothingSec ?? 10;
    this.now = options.now ?? (() => performance.now());
  }

  /** The state the next line would show. */
  state(): ProgressState {
    const sps = this.stepsPerSec;
    return {
      step: this.step,
      total: this.total,
      imagesPerSec: sps === undefined ? undefined : sps * this.imagesPerStep,
      etaSec: sps === undefined || sps <= 0 ? undefined : (this.total - this.step) / sps,
      losses: this.losses,
      label: this.label,
    };
  }

  /** Records that `step` steps are done, with the latest scalars, and redraws if it is time to. */
  update(step: number, losses: Readonly<Record<string, number>> = {}): void {
    const t = this.now();
    if (this.lastUpdate && t > this.lastUpdate.t) {
      const dt = (t - this.lastUpdate.t) / 1000;
      const instant = (step - this.lastUpdate.step) / dt;
      const alpha = 1 - Math.exp(-dt / this.smoothingSec);
      this.stepsPerSec = this.stepsPerSec === undefined ? instant : this.stepsPerSec + alpha * (instant - this.stepsPerSec);
    }
    if (!this.lastUpdate || t > this.lastUpdate.t) this.lastUpdate = { step, t };
    this.step = step;
    this.losses = { ...losses };
    const due = this.tty ? t - this.lastDraw >= this.minIntervalMs : step % this.everySteps === 0;
    if (due || step >= this.total) this.draw(t);
  }

  /**
   * Prints a message without breaking the bar: on a terminal the bar line is cleared, the message
   * printed, and the bar redrawn below it.
   */
  message(text: string): void {
    if (this.tty && this.drawnStep >= 0 && !this.finished) {
      this.stream.write(`\r\x1b[K${text}\n`);
      this.draw(this.now());
    } else {
      this.stream.write(`${text}\n`);
    }
  }

  /** Draws the final state (if not already shown) and ends the terminal line. Idempotent. */
  finish(): void {
    if (this.finished) return;
    if (this.drawnStep !== this.step || this.tty) this.draw(this.now());
    if (this.tty) this.stream.write('\n');
    this.finished = true;
  }

  private draw(t: number): void {
    this.lastDraw = t;
    this.drawnStep = this.step;
    if (this.tty) {
      const width = this.stream.columns ? this.stream.columns - 1 : undefined;
      this.stream.write(`\r${formatProgress(this.state(), { width })}\x1b[K`);
    } else {
      this.stream.write(`${formatProgress(this.state(), { bar: false })}\n`);
    }
  }
}
