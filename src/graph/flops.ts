/**
 * Counts the floating-point work of a graph from its static shapes: convolutions, transposed
 * convolutions and matrix products, counting a multiply-add as 2 FLOPs (the convention of the
 * engine measurements). Elementwise ops are ignored; they are a small share of these networks.
 */
import type { Graph, Node } from './graph.ts';

function nodeFlops(n: Node): number {
  const size = (shape: readonly (number | string)[]) =>
    shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : Number.NaN), 1);
  switch (n.op) {
    case 'Conv': {
      const w = n.inputs[1]!.shape as number[];
      // every output element takes Cin/group * kh * kw multiply-adds
      return 2 * size(n.outputs[0].shape) * w[1] * w[2] * w[3];
    }
    case 'ConvTranspose': {
      const w = n.inputs[1]!.shape as number[];
      // every input element scatters into Cout/group * kh * kw outputs
      return 2 * size(n.inputs[0]!.shape) * w[1] * w[2] * w[3];
    }
    case 'MatMul': {
      const a = n.inputs[0]!.shape;
      return 2 * size(n.outputs[0].shape) * (a[a.length - 1] as number);
    }
    default:
      return 0;
  }
}

/** Total FLOPs of the graph's conv and matmul nodes (NaN if a counted shape is symbolic). */
export function countFlops(graph: Graph): number {
  return graph.nodes.reduce((sum, n) => sum + nodeFlops(n), 0);
}
