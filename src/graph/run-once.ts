/**
 * Runs a builder graph once, in this thread, with ONNX Runtime. Meant for tests, gradient checks and
 * one-off tools; library code runs sessions through `runtime/` (worker threads, cached sessions).
 */
import * as ort from 'onnxruntime-node';
import { EngineError } from '../core/errors.ts';
import type { Graph } from './graph.ts';
import { toOnnx } from './onnx.ts';

export type Feeds = Record<string, { data: Float32Array | BigInt64Array; shape: readonly number[] }>;

export async function runOnce(graph: Graph, feeds: Feeds): Promise<Record<string, { data: Float32Array; shape: number[] }>> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(toOnnx(graph), { intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
  } catch (e) {
    throw new EngineError(`graph ${graph.name}: ONNX Runtime could not create a session: ${(e as Error).message}`);
  }
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(feeds)) {
      ortFeeds[name] = new ort.Tensor(f.data instanceof BigInt64Array ? 'int64' : 'float32', f.data, [...f.shape]);
    }
    const out = await session.run(ortFeeds);
    const result: Record<string, { data: Float32Array; shape: number[] }> = {};
    for (const [name, t] of Object.entries(out)) result[name] = { data: t.data as Float32Array, shape: [...t.dims] };
    return result;
  } catch (e) {
    throw new EngineError(`graph ${graph.name}: run failed: ${(e as Error).message}`);
  } finally {
    await session.release();
  }
}
