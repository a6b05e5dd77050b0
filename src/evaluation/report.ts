/**
 * The three forms of an evaluation report, as text: the per-image CSV, the markdown summary and
 * the HTML page with the image grids. Pure functions of the results, so they are tested without
 * running any method.
 */
import type { MaskKind } from '../data/masks.ts';
import type { Interval, PairedRow } from './paired.ts';
import type { ProtocolName } from './protocols.ts';

/** One method's result on one image under one protocol: a line of results.csv. */
export interface ResultRow {
  protocol: ProtocolName;
  /** The image's position in the evaluated list (which seeds its mask). */
  index: number;
  /** The image's path relative to the evaluated folder. */
  image: string;
  maskKind: MaskKind;
  /** The first 16 hex digits of the SHA-256 of the mask's bytes (one a pixel, 1 = hole). */
  maskSha256: string;
  /** Percentage of the image in the hole. */
  holePercent: number;
  method: string;
  /** Wall-clock seconds of the method's `inpaint` call (to the failure, if it failed). */
  seconds: number;
  /** Metric name -> this image's value; empty when the method failed. */
  metrics: Record<string, number>;
  /** Why the method failed on this image; absent when it succeeded. */
  error?: string;
}

/** A metric column: its name, unit and direction (null: not ranked, see `Metric`). */
export interface MetricColumn {
  name: string;
  unit: string;
  higherIsBetter: boolean | null;
}

/** A method's means under one protocol: a line of the summary table. */
export interface SummaryRow {
  protocol: ProtocolName;
  method: string;
  /** Images the method filled and was scored on. */
  images: number;
  /** Images on which it failed (left out of the means). */
  failed: number;
  /** Metric name -> mean over the scored images (NaN when none was). */
  metrics: Record<string, number>;
  /** Mean seconds a scored image. */
  secondsPerImage: number;
}

/** A picture of the HTML page: one image under one protocol, every method beside the input. */
export interface GridEntry {
  protocol: ProtocolName;
  index: number;
  image: string;
  /** The PNG, relative to the report folder. */
  file: string;
}

/** What the report says about the run itself. */
export interface RunInfo {
  folder: string;
  split: string;
  images: number;
  seed: number;
  /** Protocol name -> its one-line description. */
  protocols: Record<string, string>;
}

/** A value as the CSV stores it: full precision, 'inf' for Infinity, empty when missing. */
function csvNumber(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '';
  return v === Infinity ? 'inf' : String(v);
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * results.csv: a header, then one line per (protocol, image, method) in run order. Columns:
 * protocol, index, image, mask_kind, mask_sha256, hole_percent, method, seconds, one per metric,
 * error.
 * @example
 * await writeFile('eval/results.csv', resultsCsv(rows, columns));
 */
export function resultsCsv(rows: readonly ResultRow[], columns: readonly MetricColumn[]): string {
  const header = ['protocol', 'index', 'image', 'mask_kind', 'mask_sha256', 'hole_percent', 'method', 'seconds', ...columns.map((c) => c.name), 'error'];
  const lines = rows.map((r) =>
    [
      r.protocol,
      String(r.index),
      r.image,
      r.maskKind,
      r.maskSha256,
      r.holePercent.toFixed(3),
      r.method,
      r.seconds.toFixed(4),
      ...columns.map((c) => csvNumber(r.metrics[c.name])),
      r.error ?? '',
    ]
      .map(csvField)
      .join(','),
  );
  return `${[header.join(','), ...lines].join('\n')}\n`;
}

/** A mean for people: digits suited to the metric. */
function formatValue(name: string, v: number): string {
  if (Number.isNaN(v)) return '–';
  if (v === Infinity) return '∞';
  if (name.startsWith('ssim')) return v.toFixed(4);
  if (name === 'perceptual') return v.toPrecision(4);
  return v.toFixed(2);
}

function header(c: MetricColumn): string {
  const arrow = c.higherIsBetter === null ? '' : c.higherIsBetter ? ' ↑' : ' ↓';
  return `${c.name}${c.unit ? ` (${c.unit})` : ''}${arrow}`;
}

/** The best mean of a column within one protocol, to highlight; undefined with under two methods or for an unranked column. */
function bestOf(rows: readonly SummaryRow[], c: MetricColumn): number | undefined {
  const values = rows.map((r) => r.metrics[c.name]).filter((v) => !Number.isNaN(v));
  if (rows.length < 2 || values.length === 0 || c.higherIsBetter === null) return undefined;
  return c.higherIsBetter ? Math.max(...values) : Math.min(...values);
}

/** A table cell; `best` marks the best mean of its protocol and metric. */
interface Cell {
  text: string;
  best: boolean;
}

/** The summary as table cells, a row per (protocol, method). */
function summaryCells(summary: readonly SummaryRow[], columns: readonly MetricColumn[]): Cell[][] {
  const plain = (text: string): Cell => ({ text, best: false });
  return summary.map((row) => {
    const peers = summary.filter((r) => r.protocol === row.protocol);
    const cells = columns.map((c) => ({ text: formatValue(c.name, row.metrics[c.name]), best: row.metrics[c.name] === bestOf(peers, c) }));
    const seconds = row.images > 0 ? row.secondsPerImage.toPrecision(3) : '–';
    return [plain(row.protocol), plain(row.method), plain(`${row.images}${row.failed ? ` (+${row.failed} failed)` : ''}`), ...cells, plain(seconds)];
  });
}

/** A signed difference with its interval, e.g. '-0.42 [-0.71, -0.15]', at the metric's digits. */
function formatDifference(name: string, d: Interval): string {
  const signed = (v: number) => `${v > 0 ? '+' : ''}${formatValue(name, v)}`;
  return `${signed(d.mean)} [${signed(d.low)}, ${signed(d.high)}]`;
}

/**
 * The paired table as cells: a row per (protocol, method), a cell per compared metric; a cell is
 * marked when its interval excludes 0 (a difference beyond the noise of the images).
 */
function pairedCells(paired: readonly PairedRow[], columns: readonly MetricColumn[]): { head: string[]; rows: Cell[][] } {
  const compared = columns.filter((c) => c.higherIsBetter !== null);
  const head = ['protocol', 'method', 'images', ...compared.map((c) => `${header(c)}`)];
  const rows = paired.map((p) => [
    { text: p.protocol, best: false },
    { text: `${p.method} − ${p.reference}`, best: false },
    { text: String(p.images), best: false },
    ...compared.map((c) => {
      const d = p.differences[c.name];
      return d ? { text: formatDifference(c.name, d), best: d.low > 0 || d.high < 0 } : { text: '–', best: false };
    }),
  ]);
  return { head, rows };
}

/** What the paired table shows, in one sentence. */
function pairedAbout(paired: readonly PairedRow[]): string {
  return (
    `Each method against ${paired[0].reference} on the same images: the mean per-image difference (method − ${paired[0].reference}; ` +
    'the arrow says which sign is better) and its paired bootstrap 95% interval over images; bold: the interval excludes 0, a difference beyond the noise of the photos.'
  );
}

function summaryHeader(columns: readonly MetricColumn[]): string[] {
  return ['protocol', 'method', 'images', ...columns.map(header), 's / image'];
}

/** What the run was and what the columns mean: two sentences, then one line per protocol. */
function runLines(info: RunInfo): { about: string[]; protocols: string[] } {
  const about = [
    `${info.images} images from ${info.folder} (split: ${info.split}), mask seed ${info.seed}.`,
    'Means over images; the best value of each protocol is in bold. l1 is the mean absolute error in % of the [0, 1] range; ' +
      'ssim_hole is SSIM over the bounding box of the hole (scikit-image settings: 11x11 Gaussian window, sigma 1.5); ' +
      'detail_hole is the variation between neighbouring hole pixels in % of the original\'s (not ranked: 100 is as detailed as the original, ' +
      'smooth fills score low, noise or artefacts can score over 100); ' +
      'texture_hole is the hole\'s band between blurs of sigma about 1.4 and 4.5 px in % of the original\'s (not ranked: texture 3 to 10 px across, which fine grain over a smooth fill lacks; a diffusion\'s streaks count too); ' +
      'perceptual is the mean squared difference of VGG19 relu3_1 features; s / image is the wall-clock time of the method alone.',
  ];
  return { about, protocols: Object.entries(info.protocols).map(([name, d]) => `${name}: ${d}`) };
}

/**
 * summary.md: a line about the run, then one table, a row per (protocol, method), a column per
 * metric (means) and the mean time per image; the best mean of each protocol in bold.
 * @example
 * await writeFile('eval/summary.md', summaryMarkdown(summary, columns, info));
 */
export function summaryMarkdown(summary: readonly SummaryRow[], columns: readonly MetricColumn[], info: RunInfo, paired: readonly PairedRow[] = []): string {
  const markdownTable = (head: string[], rows: Cell[][]) =>
    [head, head.map(() => '---'), ...rows.map((row) => row.map((c) => (c.best ? `**${c.text}**` : c.text)))].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
  const table = markdownTable(summaryHeader(columns), summaryCells(summary, columns));
  const { about, protocols } = runLines(info);
  let text = `# Evaluation\n\n${about.join('\n')}\n\n${protocols.map((p) => `- ${p}`).join('\n')}\n\n${table}\n`;
  if (paired.length > 0) {
    const { head, rows } = pairedCells(paired, columns);
    text += `\n## Paired differences to ${paired[0].reference}\n\n${pairedAbout(paired)}\n\n${markdownTable(head, rows)}\n`;
  }
  return text;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/**
 * index.html: the summary table, then for each protocol its grids (input | each method | ground
 * truth), each captioned with the image and every method's l1 over the hole and hole SSIM.
 * Self-contained apart from the grid PNGs it links.
 * @example
 * await writeFile('eval/index.html', reportHtml(summary, columns, info, grids, rows));
 */
export function reportHtml(
  summary: readonly SummaryRow[],
  columns: readonly MetricColumn[],
  info: RunInfo,
  grids: readonly GridEntry[],
  rows: readonly ResultRow[],
  paired: readonly PairedRow[] = [],
): string {
  const htmlTable = (head: string[], cells: Cell[][]) =>
    `<table>\n<tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>\n${cells
      .map((row) => `<tr>${row.map((c) => `<td>${c.best ? `<b>${escapeHtml(c.text)}</b>` : escapeHtml(c.text)}</td>`).join('')}</tr>`)
      .join('\n')}\n</table>`;
  let tables = htmlTable(summaryHeader(columns), summaryCells(summary, columns));
  if (paired.length > 0) {
    const { head, rows: cells } = pairedCells(paired, columns);
    tables += `\n<h2>Paired differences to ${escapeHtml(paired[0].reference)}</h2>\n<p>${escapeHtml(pairedAbout(paired))}</p>\n${htmlTable(head, cells)}`;
  }
  const sections = [...new Set(grids.map((g) => g.protocol))].map((protocol) => {
    const figures = grids
      .filter((g) => g.protocol === protocol)
      .map((g) => {
        const scores = rows
          .filter((r) => r.protocol === g.protocol && r.index === g.index)
          .map((r) => (r.error ? `${r.method}: failed` : `${r.method}: l1_hole ${formatValue('l1_hole', r.metrics.l1_hole)}%, ssim_hole ${formatValue('ssim_hole', r.metrics.ssim_hole)}`))
          .join('; ');
        return `<figure><img src="${escapeHtml(g.file)}" alt="${escapeHtml(`${protocol} ${g.image}`)}"><figcaption>#${g.index} ${escapeHtml(g.image)} — ${escapeHtml(scores)}</figcaption></figure>`;
      });
    return `<h2>${escapeHtml(protocol)}</h2>\n<p>${escapeHtml(info.protocols[protocol] ?? '')}</p>\n${figures.join('\n')}`;
  });
  const { about, protocols } = runLines(info);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Inpainting evaluation</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }
th:nth-child(-n+2), td:nth-child(-n+2) { text-align: left; }
figure { margin: 1.5em 0; }
img { max-width: 100%; }
figcaption { font-size: 0.9em; color: #444; }
</style>
</head>
<body>
<h1>Inpainting evaluation</h1>
${about.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n')}
<ul>
${protocols.map((line) => `<li>${escapeHtml(line)}</li>`).join('\n')}
</ul>
${tables}
${sections.join('\n')}
</body>
</html>
`;
}
