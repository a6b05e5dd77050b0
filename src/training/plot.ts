/**
 * Loss curves as PNG, drawn pixel by pixel (axes, ticks and labels in the built-in bitmap font, one
 * polyline per series, a legend), so that a training run can chart itself with no plotting package.
 */
import { UsageError } from '../core/errors.ts';
import { BLACK, Bitmap, type Color, drawText, GLYPH_HEIGHT, type Rect, textWidth, WHITE } from '../core/font.ts';
import { readLog } from './log.ts';

/** One curve: (x, y) points in x order. Non-finite y values leave a gap. */
export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
}

export interface PlotOptions {
  /** Image size in pixels. Defaults 800 x 500. */
  width?: number;
  height?: number;
  /** Logarithmic y axis; non-positive values leave gaps. */
  logY?: boolean;
  /**
   * Exponential moving average weight in [0, 1): 0 draws the raw values; 0.9 averages over roughly
   * the last 10 points. The raw curve stays visible, faint, behind the smoothed one.
   */
  smooth?: number;
  title?: string;
  /** Label under the x axis. Default 'step'. */
  xLabel?: string;
}

/** A rendered plot and where things went (for callers that annotate it, and for tests). */
export interface Plot {
  bitmap: Bitmap;
  /** The data area inside the axes. */
  area: Rect;
  /** The legend box. */
  legend: Rect;
  /** Line colour of each series, in order. */
  colors: Color[];
}

/** Tableau-10: distinct colours that stay distinct for the colour-blind, in matplotlib's order. */
export const PALETTE: readonly Color[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

const AXIS: Color = [40, 40, 40];
const GRID: Color = [228, 228, 228];
const LEGEND_BORDER: Color = [170, 170, 170];

/**
 * Exponential moving average with TensorBoard's bias correction (the first values are not pulled
 * towards 0). Non-finite values are passed through and do not enter the average.
 * @example emaSmooth([1, 1, 1], 0.9) // [1, 1, 1]
 * @throws UsageError unless 0 <= smooth < 1
 */
export function emaSmooth(ys: readonly number[], smooth: number): number[] {
  if (!(smooth >= 0 && smooth < 1)) throw new UsageError(`Expected a number in [0, 1) for smooth but received ${smooth}`);
  let avg = 0;
  let weight = 0;
  return ys.map((y) => {
    if (!Number.isFinite(y)) return y;
    avg = smooth * avg + (1 - smooth) * y;
    weight = smooth * weight + (1 - smooth);
    return avg / weight;
  });
}

/** Rounds away the binary noise of k * step (0.30000000000000004 -> 0.3). */
const tidy = (v: number) => Number(v.toPrecision(12));

/**
 * "Nice" tick positions (1, 2 or 5 times a power of ten apart) covering [lo, hi], about `target` of them.
 * @example niceTicks(0, 1, 5) // [0, 0.2, 0.4, 0.6, 0.8, 1]
 */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  const raw = (hi - lo) / Math.max(1, target);
  if (!(raw > 0) || !Number.isFinite(raw)) return [tidy(lo)];
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(tidy(k * step));
  return ticks;
}

/**
 * A tick label: fixed-point with as many decimals as `step` (the tick spacing) needs, or exponent
 * form (1e-4, 2.5e5) for magnitudes that would be long in fixed point.
 * @example formatTick(0.25, 0.05) // '0.25'
 */
export function formatTick(v: number, step: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e5) return v.toExponential(2).replace(/\.?0+e/, 'e').replace('e+', 'e');
  const decimals = Math.max(0, -Math.floor(Math.log10(Math.abs(step)) + 1e-9));
  return v.toFixed(Math.min(decimals, 10));
}

/** Ticks of a log axis over [10^lo, 10^hi] (given as exponents): decades, or 1-2-5 steps within a decade. */
function logTicks(lo: number, hi: number): { value: number; label: string }[] {
  if (hi - lo >= 1) {
    const every = Math.max(1, Math.ceil((hi - lo) / 6));
    const out: { value: number; label: string }[] = [];
    for (let e = Math.ceil(lo - 1e-9); e <= hi + 1e-9; e += every) out.push({ value: e, label: formatTick(10 ** e, 10 ** e) });
    return out;
  }
  const ticks = niceTicks(10 ** lo, 10 ** hi, 4);
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : ticks[0];
  return ticks.filter((t) => t > 0).map((t) => ({ value: Math.log10(t), label: formatTick(t, step) }));
}

/** Mixes a colour with white: `amount` 0 keeps it, 1 gives white. */
function fade(c: Color, amount: number): Color {
  return c.map((v) => Math.round(v + (255 - v) * amount)) as unknown as Color;
}

/** A line of the given thickness (Bresenham, each point stamped as a square), clipped to `clip`. */
function drawLine(bmp: Bitmap, x0: number, y0: number, x1: number, y1: number, c: Color, thickness: number, clip: Rect): void {
  let x = Math.round(x0);
  let y = Math.round(y0);
  const xe = Math.round(x1);
  const ye = Math.round(y1);
  const dx = Math.abs(xe - x);
  const dy = -Math.abs(ye - y);
  const sx = x < xe ? 1 : -1;
  const sy = y < ye ? 1 : -1;
  let err = dx + dy;
  const off = Math.floor((thickness - 1) / 2);
  for (;;) {
    for (let i = 0; i < thickness; i++) for (let j = 0; j < thickness; j++) bmp.set(x - off + i, y - off + j, c, clip);
    if (x === xe && y === ye) return;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y += sy;
    }
  }
}

/** The finite (for log: positive, as log10) range of all values, or [0, 1] when there are none. */
function range(values: number[][]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const vs of values) {
    for (const v of vs) {
      if (Number.isFinite(v)) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
  }
  if (lo > hi) return [0, 1];
  if (lo === hi) return [lo - Math.max(0.5, Math.abs(lo) * 0.1), hi + Math.max(0.5, Math.abs(hi) * 0.1)];
  return [lo, hi];
}

/**
 * Renders series as a line chart.
 * @throws UsageError for no series, more series than colours, a size under 120 x 100 pixels, or a bad `smooth`
 * @example const { bitmap } = renderPlot([{ name: 'l1', points: [[0, 1], [100, 0.5]] }], { logY: true });
 */
export function renderPlot(series: readonly Series[], options: PlotOptions = {}): Plot {
  const width = options.width ?? 800;
  const height = options.height ?? 500;
  const smooth = options.smooth ?? 0;
  if (series.length === 0) throw new UsageError('renderPlot: there are no series to plot');
  if (series.length > PALETTE.length) throw new UsageError(`renderPlot: at most ${PALETTE.length} series (got ${series.length}); pick some with keys`);
  if (!(width >= 120 && height >= 100)) throw new UsageError(`renderPlot: the image must be at least 120 x 100 pixels (got ${width} x ${height})`);
  const bmp = new Bitmap(width, height, WHITE);
  // Text and lines grow with the image so that a large plot stays readable.
  const scale = Math.max(1, Math.round(Math.min(width, height) / 300));
  const lineH = GLYPH_HEIGHT * scale;

  // Values to plot, in the axis's space (log10 for a log axis; invalid values become NaN).
  const toAxis = (v: number) => (options.logY ? (v > 0 ? Math.log10(v) : Number.NaN) : v);
  const raw = series.map((s) => s.points.map(([, y]) => toAxis(y)));
  const smoothed = smooth > 0 ? series.map((s) => emaSmooth(s.points.map(([, y]) => y), smooth).map(toAxis)) : raw;
  const [yLo, yHi] = range(smooth > 0 ? [...raw, ...smoothed] : raw);
  const yPad = (yHi - yLo) * 0.05;
  const [ylo, yhi] = [yLo - yPad, yHi + yPad];
  const [xlo, xhi] = range(series.map((s) => s.points.map(([x]) => x)));

  const yTicks = options.logY
    ? logTicks(ylo, yhi)
    : (() => {
        const t = niceTicks(ylo, yhi, 6);
        const step = t.length > 1 ? t[1] - t[0] : Math.abs(t[0]) || 1;
        return t.map((v) => ({ value: v, label: formatTick(v, step) }));
      })();
  const xT = niceTicks(xlo, xhi, 6);
  const xStep = xT.length > 1 ? xT[1] - xT[0] : 1;
  const xTicks = xT.map((v) => ({ value: v, label: formatTick(v, xStep) }));

  const tick = 4 * scale;
  const gap = 3 * scale;
  const left = Math.max(...yTicks.map((t) => textWidth(t.label, scale))) + tick + 2 * gap;
  const top = options.title ? lineH + 3 * gap : 3 * gap;
  const bottom = tick + gap + lineH + gap + lineH + gap;
  const right = Math.max(gap * 3, Math.ceil(textWidth(xTicks[xTicks.length - 1].label, scale) / 2) + gap);
  const area: Rect = { x: left, y: top, width: width - left - right, height: height - top - bottom };
  if (area.width < 20 || area.height < 20) throw new UsageError(`renderPlot: ${width} x ${height} pixels leave no room for the data`);
  const px = (x: number) => area.x + ((x - xlo) / (xhi - xlo)) * (area.width - 1);
  const py = (y: number) => area.y + area.height - 1 - ((y - ylo) / (yhi - ylo)) * (area.height - 1);
  const x2 = area.x + area.width - 1;
  const y2 = area.y + area.height - 1;

  if (options.title) drawText(bmp, options.title, Math.round((width - textWidth(options.title, scale)) / 2), gap, BLACK, scale);
  // Grid and ticks.
  for (const t of yTicks) {
    const y = Math.round(py(t.value));
    if (y < area.y || y > y2) continue;
    drawLine(bmp, area.x, y, x2, y, GRID, 1, area);
    bmp.fillRect({ x: area.x - tick, y, width: tick, height: 1 }, AXIS);
    drawText(bmp, t.label, area.x - tick - gap - textWidth(t.label, scale), y - Math.floor((7 * scale) / 2), AXIS, scale);
  }
  for (const t of xTicks) {
    const x = Math.round(px(t.value));
    if (x < area.x || x > x2) continue;
    drawLine(bmp, x, area.y, x, y2, GRID, 1, area);
    bmp.fillRect({ x, y: y2 + 1, width: 1, height: tick }, AXIS);
    drawText(bmp, t.label, x - Math.floor(textWidth(t.label, scale) / 2), y2 + tick + gap, AXIS, scale);
  }
  const xLabel = options.xLabel ?? 'step';
  drawText(bmp, xLabel, area.x + Math.round((area.width - textWidth(xLabel, scale)) / 2), y2 + tick + 2 * gap + lineH, AXIS, scale);
  bmp.fillRect({ x: area.x - 1, y: area.y, width: 1, height: area.height + 1 }, AXIS);
  bmp.fillRect({ x: area.x - 1, y: y2 + 1, width: area.width + 1, height: 1 }, AXIS);

  // Curves: faint raw values under the smoothed ones.
  const colors = series.map((_, i) => PALETTE[i]);
  const polyline = (xs: readonly number[], ys: readonly number[], c: Color, thickness: number) => {
    for (let i = 1; i < ys.length; i++) {
      if (Number.isFinite(ys[i - 1]) && Number.isFinite(ys[i])) drawLine(bmp, px(xs[i - 1]), py(ys[i - 1]), px(xs[i]), py(ys[i]), c, thickness, area);
    }
    // A point whose neighbours are both gaps would not show as a segment: draw it as a dot.
    ys.forEach((y, i) => {
      if (Number.isFinite(y) && !Number.isFinite(ys[i - 1]) && !Number.isFinite(ys[i + 1])) drawLine(bmp, px(xs[i]), py(y), px(xs[i]), py(y), c, thickness + 1, area);
    });
  };
  series.forEach((s, i) => {
    const xs = s.points.map(([x]) => x);
    if (smooth > 0) polyline(xs, raw[i], fade(colors[i], 0.7), scale);
    polyline(xs, smoothed[i], colors[i], scale + 1);
  });

  // Legend, top right inside the data area.
  const swatch = 16 * scale;
  const rowH = lineH + gap;
  const legendW = gap * 3 + swatch + Math.max(...series.map((s) => textWidth(s.name, scale))) + gap;
  const legend: Rect = { x: x2 - gap - legendW, y: area.y + gap, width: legendW, height: rowH * series.length + gap };
  bmp.fillRect(legend, LEGEND_BORDER);
  bmp.fillRect({ x: legend.x + 1, y: legend.y + 1, width: legend.width - 2, height: legend.height - 2 }, WHITE);
  series.forEach((s, i) => {
    const y = legend.y + gap + i * rowH;
    const mid = y + Math.floor((7 * scale) / 2);
    drawLine(bmp, legend.x + gap, mid, legend.x + gap + swatch, mid, colors[i], scale + 1, legend);
    drawText(bmp, s.name, legend.x + 2 * gap + swatch, y, BLACK, scale, legend);
  });
  return { bitmap: bmp, area, legend, colors };
}

export interface PlotLogOptions extends PlotOptions {
  /** Scalars to plot; default every numeric key except step and time. */
  keys?: readonly string[];
}

/**
 * Plots scalars of a JSON-lines log (see `log.ts`) against the step and writes a PNG; returns the
 * rendered plot.
 * @throws InputError when the log cannot be read
 * @throws UsageError when the log has no records, or a requested key appears in no record
 * @example await plotLog('runs/g1/log.jsonl', 'runs/g1/loss.png', { keys: ['g1_l1'], smooth: 0.9, logY: true });
 */
export async function plotLog(logPath: string, outPng: string, options: PlotLogOptions = {}): Promise<Plot> {
  const records = await readLog(logPath);
  if (records.length === 0) throw new UsageError(`${logPath} has no records to plot yet`);
  const present = new Set(records.flatMap((r) => Object.keys(r)).filter((k) => k !== 'step' && k !== 'time'));
  const keys = options.keys ?? [...present];
  const missing = keys.filter((k) => !present.has(k));
  if (missing.length > 0) throw new UsageError(`${logPath} has no ${missing.join(', ')} (it has ${[...present].join(', ') || 'no scalars'})`);
  const series = keys.map((name) => ({
    name,
    points: records.filter((r) => name in r).map((r) => [r.step, r[name]] as const),
  }));
  const plot = renderPlot(series, options);
  await plot.bitmap.writePng(outPng);
  return plot;
}
