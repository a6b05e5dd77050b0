/**
 * The evaluation harness: every method on exactly the same inputs, scored with the same metrics,
 * reported as a per-image CSV, a markdown summary and an HTML page of image grids.
 *
 * For each image (read once) and each protocol: the ground truth is prepared (`prepareImage`), the
 * mask is read from or saved to out/masks/<protocol>/ (`protocolMask`), the hole is painted white,
 * and every method gets its own copy of that input and mask, so that one cannot alter what the next
 * sees. Each method is called once more, untimed, on the very first input, so that its start-up
 * cost stays out of the timings. Methods are scored on their output as returned (known pixels included: the
 * `InpaintMethod` contract says they come back unchanged). A method that throws on an image is
 * recorded as failed there and left out of its means; the run goes on.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { InpaintMethod } from '../baselines/method.ts';
import { expect, UsageError } from '../core/errors.ts';
import { holeFraction, type MaskImage, readImage, type RgbImage } from '../core/image.ts';
import { DEFAULT_SPLIT, ImageFolder } from '../data/dataset.ts';
import type { FrozenVgg } from '../features/vgg.ts';
import { type Metric, standardMetrics } from '../metrics/index.ts';
import type { Engine } from '../runtime/engine.ts';
import { writeSampleGrid } from '../core/sample-grid.ts';
import { checkProtocols, PROTOCOLS, type ProtocolName, prepareImage, protocolMask } from './protocols.ts';
import { pairedDifferences, type PairedRow } from './paired.ts';
import { type GridEntry, type MetricColumn, reportHtml, type ResultRow, resultsCsv, type RunInfo, type SummaryRow, summaryMarkdown } from './report.ts';

/**
 * The held-out split training uses by default (`DEFAULT_SPLIT`), so that 'val' scores only images
 * no model was trained on.
 */
export const VAL_FRACTION = DEFAULT_SPLIT.fraction;
export const SPLIT_SEED = DEFAULT_SPLIT.seed;

export interface EvaluateOptions {
  /** The folder of photos (listed recursively, as training lists it). */
  folder: string;
  /** The methods to compare; names must differ. The caller disposes them. */
  methods: readonly InpaintMethod[];
  /** Protocol names (see PROTOCOLS), run in this order. */
  protocols: readonly string[];
  /** The report folder (created): results.csv, summary.md, index.html, grids/, masks/. */
  out: string;
  /** Seeds the masks (default 0). */
  seed?: number;
  /** 'val' (default): the validation split training held out; 'all': every image. */
  split?: 'val' | 'all';
  /** Score only the first N images of the split. */
  limit?: number;
  /** Adds the perceptual metric, run with this network on this engine (both owned by the caller). */
  perceptual?: { vgg: FrozenVgg; engine: Engine };
  /** Images per protocol shown as grids in index.html (default 4). */
  gridImages?: number;
  /**
   * The method every other is compared with, image by image (paired differences with bootstrap
   * 95% intervals in the report, see paired.ts). Default: 'telea' when it is among the methods,
   * else none; null: none.
   */
  reference?: string | null;
  /** Where progress lines go (default console.log). */
  log?: (line: string) => void;
}

export interface EvaluationResult {
  rows: ResultRow[];
  summary: SummaryRow[];
  /** Every other method against the reference (empty without one). */
  paired: PairedRow[];
  /** The report files written. */
  files: { csv: string; summary: string; html: string };
}

/**
 * Runs every method on every image under every protocol and writes the report.
 * @example
 * const methods = [await createMethod('ours'), await createMethod('telea')];
 * const { summary } = await evaluate({ folder: 'photos', methods, protocols: ['centre-256'], out: 'eval', seed: 0, limit: 50 });
 * @throws UsageError no methods or duplicate names, unknown protocols, a bad seed, limit or gridImages
 * @throws InputError the folder is missing or holds no images, a photo or saved mask is unreadable
 */
export async function evaluate(options: EvaluateOptions): Promise<EvaluationResult> {
  const { folder, methods, out, seed = 0, split = 'val', limit, perceptual, gridImages = 4, log = console.log } = options;
  const protocols = checkProtocols(options.protocols);
  expect(methods.length > 0, 'methods', 'at least one method', methods);
  const names = methods.map((m) => m.name);
  expect(new Set(names).size === names.length, 'method names', 'distinct names', names);
  expect(Number.isSafeInteger(seed), 'seed', 'a safe integer', seed);
  expect(split === 'val' || split === 'all', 'split', "'val' or 'all'", split);
  expect(limit === undefined || (Number.isInteger(limit) && limit > 0), 'limit', 'a positive integer', limit);
  expect(Number.isInteger(gridImages) && gridImages >= 0, 'gridImages', 'a non-negative integer', gridImages);
  const reference = options.reference === undefined ? (names.includes('telea') ? 'telea' : null) : options.reference;
  expect(reference === null || names.includes(reference), 'reference', `null or one of the methods (${names.join(', ')})`, reference);

  const images = await listImages(folder, split, limit);
  log(`evaluating ${names.join(', ')} on ${images.paths.length} images (${split}) x ${protocols.join(', ')} -> ${out}`);
  await mkdir(out, { recursive: true });

  // One metric set per (protocol, method): update() gives the CSV's per-image values, compute() the means.
  const metrics = new Map<string, Metric[]>();
  const seconds = new Map<string, number>();
  for (const p of protocols) for (const m of names) metrics.set(key(p, m), standardMetrics(perceptual));
  const columns: MetricColumn[] = standardMetrics(perceptual).map(({ name, unit, higherIsBetter }) => ({ name, unit, higherIsBetter }));

  const rows: ResultRow[] = [];
  const grids: GridEntry[] = [];
  for (const [index, path] of images.paths.entries()) {
    const name = images.names[index];
    const photo = await readImage(path);
    const truths = new Map<number, RgbImage>();
    for (const protocol of protocols) {
      const { size } = PROTOCOLS[protocol];
      if (!truths.has(size)) truths.set(size, prepareImage(photo, size));
      const truth = truths.get(size)!;
      const { mask, kind } = await protocolMask(join(out, 'masks'), protocol, index, seed);
      const input = whiteHole(truth, mask);
      const common = { protocol, index, image: name, maskKind: kind, maskSha256: sha256(mask.data).slice(0, 16), holePercent: 100 * holeFraction(mask) };
      const outputs: RgbImage[] = [];
      const progress: string[] = [];
      for (const method of methods) {
        // A method's first call may load models or compile code (ONNX sessions, OpenCV's wasm): one
        // untimed, unscored call on the first input keeps that out of its seconds per image. A
        // failure here is left to the scored call to report.
        if (index === 0 && protocol === protocols[0]) await method.inpaint({ ...input, data: input.data.slice() }, { ...mask, data: mask.data.slice() }).catch(() => undefined);
        const row = await runOne(method, input, mask, truth, metrics.get(key(protocol, method.name))!);
        rows.push({ ...common, ...row });
        if (!row.error) seconds.set(key(protocol, method.name), (seconds.get(key(protocol, method.name)) ?? 0) + row.seconds);
        outputs.push(row.output ?? grey(truth));
        progress.push(row.error ? `${method.name} FAILED: ${row.error}` : `${method.name} l1_hole ${row.metrics.l1_hole.toFixed(2)}% ssim ${row.metrics.ssim.toFixed(4)} ${row.seconds.toFixed(2)}s`);
      }
      log(`[${index + 1}/${images.paths.length}] ${protocol} ${name}: ${progress.join(' | ')}`);
      if (index < gridImages) {
        const file = `grids/${protocol}-${String(index).padStart(4, '0')}.png`;
        await writeSampleGrid(join(out, file), [[input, ...outputs, truth]], { labels: ['input', ...names, 'truth'] });
        grids.push({ protocol, index, image: name, file });
      }
    }
  }

  const summary: SummaryRow[] = protocols.flatMap((protocol) =>
    names.map((method) => {
      const set = metrics.get(key(protocol, method))!;
      const scored = set[0].count;
      return {
        protocol,
        method,
        images: scored,
        failed: rows.filter((r) => r.protocol === protocol && r.method === method && r.error).length,
        metrics: Object.fromEntries(set.map((m) => [m.name, scored > 0 ? m.compute() : NaN])),
        secondsPerImage: scored > 0 ? seconds.get(key(protocol, method))! / scored : NaN,
      };
    }),
  );
  const info: RunInfo = {
    folder,
    split,
    images: images.paths.length,
    seed,
    protocols: Object.fromEntries(protocols.map((p) => [p, PROTOCOLS[p].description])),
  };
  const paired = reference === null ? [] : pairedDifferences(rows, columns, reference, { seed });
  const files = { csv: join(out, 'results.csv'), summary: join(out, 'summary.md'), html: join(out, 'index.html') };
  await writeFile(files.csv, resultsCsv(rows, columns));
  await writeFile(files.summary, summaryMarkdown(summary, columns, info, paired));
  await writeFile(files.html, reportHtml(summary, columns, info, grids, rows, paired));
  log(`wrote ${files.csv}, ${files.summary} and ${files.html}`);
  return { rows, summary, paired, files };
}

const key = (protocol: ProtocolName, method: string) => `${protocol}\n${method}`;

/** The images to score, as paths and as names relative to the folder ('/' separators). */
async function listImages(folder: string, split: 'val' | 'all', limit: number | undefined): Promise<{ paths: string[]; names: string[] }> {
  const all = await ImageFolder.open(folder);
  const paths = (split === 'val' ? all.split(VAL_FRACTION, SPLIT_SEED).val : all.paths).slice(0, limit);
  return { paths, names: paths.map((p) => relative(all.root, p).split(sep).join('/')) };
}

/** One method on one input: its output, time and scores, or why it failed. */
async function runOne(method: InpaintMethod, input: RgbImage, mask: MaskImage, truth: RgbImage, metrics: Metric[]): Promise<Pick<ResultRow, 'method' | 'seconds' | 'metrics' | 'error'> & { output?: RgbImage }> {
  const start = performance.now();
  let output: RgbImage;
  try {
    output = await method.inpaint({ ...input, data: input.data.slice() }, { ...mask, data: mask.data.slice() });
    if (output?.width !== truth.width || output?.height !== truth.height || !(output.data instanceof Float32Array) || output.data.length !== truth.data.length) {
      throw new UsageError(`returned ${output?.width}x${output?.height} pixels for a ${truth.width}x${truth.height} input`);
    }
  } catch (err) {
    return { method: method.name, seconds: (performance.now() - start) / 1000, metrics: {}, error: err instanceof Error ? err.message : String(err) };
  }
  const seconds = (performance.now() - start) / 1000;
  const values: Record<string, number> = {};
  for (const metric of metrics) values[metric.name] = await metric.update(output, truth, mask);
  return { method: method.name, seconds, metrics: values, output };
}

/** The input methods get: the ground truth with the hole painted white, as the paper's figures show it. */
function whiteHole(truth: RgbImage, mask: MaskImage): RgbImage {
  const plane = truth.width * truth.height;
  const data = truth.data.slice();
  for (let i = 0; i < plane; i++) if (mask.data[i]) for (let c = 0; c < 3; c++) data[c * plane + i] = 1;
  return { ...truth, data };
}

/** The grid's stand-in for a failed method's output. */
function grey(like: RgbImage): RgbImage {
  return { ...like, data: new Float32Array(like.data.length).fill(0.5) };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
