/**
 * The messages between engine.ts (main thread) and worker.ts, in a module of its own so that the main
 * thread can import them without starting the worker's code.
 */
import type { HostTensor } from './tensor.ts';

export type HostTensorMap = Record<string, HostTensor>;

/** What engine.ts passes as `workerData`. */
export interface WorkerConfig {
  threads: number;
  /** See `EngineOptions.keepSpinning`. */
  keepSpinning: boolean;
  /** See `EngineOptions.memoryArena`. */
  memoryArena: boolean;
}

/** A model input or output as ONNX Runtime describes it; symbolic dims are strings. */
export interface ValueInfo {
  name: string;
  /** ONNX Runtime's type name ('float32', 'int64', ...), or 'non-tensor' for maps and sequences. */
  dtype: string;
  /** Empty when the model does not say (a scalar also has []). */
  shape: (number | string)[];
}

export interface ModelInfo {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

/** Each request's arguments and the value of its successful reply. */
export interface Protocol {
  create: { args: { session: number; model: Uint8Array }; result: ModelInfo };
  run: { args: { session: number; feeds: HostTensorMap; fetch: string[] }; result: HostTensorMap };
  release: { args: { session: number }; result: null };
  count: { args: Record<string, never>; result: number };
  close: { args: Record<string, never>; result: null };
}

export type Op = keyof Protocol;
export type Request = { [K in Op]: { id: number; op: K } & Protocol[K]['args'] }[Op];
export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string };
/** Posted once, when ONNX Runtime has loaded. */
export const READY = 'ready';

/** An error the engine's back end reported (ONNX Runtime or PyTorch); callers add the graph and feeds. */
export class RemoteError extends Error {}
