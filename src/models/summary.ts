/**
 * Sizes and costs of the networks: parameters, and GFLOPs of one forward pass (batch 1) counted from
 * the graph's static shapes by `countFlops` (convolutions and matrix products; a multiply-add is 2).
 * `inpaint models` prints it for every preset.
 */
import { countFlops } from '../graph/flops.ts';
import { MODEL_PRESET_NAMES, MODEL_PRESETS, type ModelConfig } from './config.ts';
import { buildNetworkGraph, createNetwork, NETWORK_KINDS, type NetworkKind, parameterCount } from './registry.ts';

export interface SummaryRow {
  readonly kind: NetworkKind;
  readonly title: string;
  /** Trainable values (batch-norm running statistics excluded). */
  readonly params: number;
  /** GFLOPs of a forward pass on a 256x256 image (64x64 features for G2 and D2). */
  readonly gflops256: number;
  /** GFLOPs of a forward pass on a 512x512 image. */
  readonly gflops512: number;
}

/**
 * Parameters and forward GFLOPs of each network of `config`.
 * @example
 * const rows = modelSummary(MODEL_PRESETS.small);
 * rows.find((r) => r.kind === 'g1')?.gflops256;
 */
export function modelSummary(config: ModelConfig): SummaryRow[] {
  return NETWORK_KINDS.map((kind) => {
    const network = createNetwork(kind, config);
    // Training mode: parameters are inputs, so no values are needed; the convs are the same.
    const at = (side: number) => buildNetworkGraph(network, { batch: 1, height: side, width: side }, 'train');
    const g256 = at(256);
    return {
      kind,
      title: network.title,
      params: parameterCount(g256.specs),
      gflops256: countFlops(g256.graph) / 1e9,
      gflops512: countFlops(at(512).graph) / 1e9,
    };
  });
}

/** Formats a count as millions with enough digits for the tiny networks. */
function millions(n: number): string {
  const m = n / 1e6;
  return m >= 1 ? m.toFixed(2) : m.toFixed(4);
}

/**
 * Renders rows as a fixed-width text table, one network a line.
 * @example
 * console.log(formatSummaryTable(modelSummary(MODEL_PRESETS.paper)));
 */
export function formatSummaryTable(rows: readonly SummaryRow[]): string {
  const header = ['network', 'params (M)', 'GFLOPs 256', 'GFLOPs 512'];
  const body = rows.map((r) => [r.title, millions(r.params), r.gflops256.toFixed(2), r.gflops512.toFixed(2)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/**
 * Prints the summary of every preset (`inpaint models`).
 * @param write where lines go; default stdout
 * @example
 * printModelSummary();
 */
export function printModelSummary(write: (text: string) => void = (t) => process.stdout.write(t)): void {
  for (const name of MODEL_PRESET_NAMES) {
    write(`${name}\n${formatSummaryTable(modelSummary(MODEL_PRESETS[name]))}\n\n`);
  }
}
