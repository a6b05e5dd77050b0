/**
 * The engine's optional PyTorch back end (INPAINT_ENGINE=torch): the same requests as the ONNX Runtime
 * worker (protocol.ts), answered by torch-engine.py (beside this file) in a child process, which runs the
 * graphs op by op with PyTorch on a CUDA GPU when there is one. It exists for training on a lent GPU
 * machine; everything else, tests included, uses ONNX Runtime.
 *
 * Framing, both ways: u32 little-endian header length, JSON header, then the binary parts the header
 * lists ({name, dtype, shape, bytes}), back to back.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import { EngineError } from '../core/errors.ts';
import type { DType } from '../graph/graph.ts';
import { type HostTensorMap, type Op, type Protocol, RemoteError } from './protocol.ts';
import { hostTensorFromBytes } from './tensor.ts';

const SCRIPT = fileURLToPath(new URL('./torch-engine.py', import.meta.url));

interface Part {
  name: string;
  dtype: DType;
  shape: number[];
  bytes: number;
}

interface Header {
  id?: number;
  ok?: boolean;
  value?: unknown;
  message?: string;
  ready?: boolean;
  /** With `ready`: what runs the graphs, e.g. 'PyTorch 2.11.0 on cuda (NVIDIA H200)'. */
  device?: string;
  parts: Part[];
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** Request/reply with the PyTorch process; the same surface as the worker channel in engine.ts. */
export class TorchChannel {
  readonly ready: Promise<void>;
  /** What runs the graphs, as the process reported it once ready. */
  device = '';
  readonly #child: ChildProcessByStdio<Writable, Readable, null>;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #failure: EngineError | undefined;
  #startup: Pending | undefined;
  #chunks: Buffer[] = [];
  #available = 0;
  /** The header of the message being read, once it has arrived; where its parts start; its whole length. */
  #header: Header | undefined;
  #bodyStart = 0;
  #needed = 0;

  constructor(python = process.env.INPAINT_PYTHON || 'python3') {
    this.ready = new Promise((resolve, reject) => {
      this.#startup = { resolve: () => resolve(), reject };
    });
    this.#child = spawn(python, [SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#child.on('error', (err) => this.#fail(new EngineError(`could not start the PyTorch engine (${python} ${SCRIPT}): ${err.message}`, { cause: err })));
    this.#child.on('exit', (code, signal) => {
      const how = `the PyTorch engine exited unexpectedly (${signal ?? `code ${code}`}); its error is above`;
      const hint = this.#startup ? `; it needs Python 3 with torch, onnx and numpy (INPAINT_PYTHON chooses the Python, now ${python})` : '';
      this.#fail(new EngineError(how + hint));
    });
    this.#child.stdout.on('data', (chunk: Buffer) => this.#receive(chunk));
    this.#child.stdin.on('error', () => undefined); // reported by 'exit'
    // Referenced until it is ready (or gone), so that a process waiting on its start stays alive.
  }

  request<K extends Op>(op: K, args: Protocol[K]['args']): Promise<Protocol[K]['result']> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    const { feeds, model, ...rest } = args as { feeds?: HostTensorMap; model?: Uint8Array };
    const tensors: [string, { dtype: DType; shape: number[]; data: ArrayBufferView }][] = Object.entries(feeds ?? {});
    if (model) tensors.push(['model', { dtype: 'uint8', shape: [model.length], data: model }]);
    const parts: Part[] = tensors.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, bytes: t.data.byteLength }));
    const header = Buffer.from(JSON.stringify({ id, op, ...rest, parts }));
    const length = Buffer.alloc(4);
    length.writeUInt32LE(header.length);
    const chunks = [length, header, ...tensors.map(([, t]) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))];
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#child.ref();
      (this.#child.stdout as Readable & { ref?: () => void }).ref?.();
      for (const c of chunks) this.#child.stdin.write(c);
    });
  }

  async close(): Promise<void> {
    try {
      if (!this.#failure) await this.request('close', {});
    } catch {
      // already gone
    }
    this.#failure ??= new EngineError('the engine was disposed');
    this.#child.stdin.end();
    this.#child.kill();
  }

  /** Gathers chunks without copying until a whole message is there (replies are megabytes). */
  #receive(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#available += chunk.length;
    for (;;) {
      if (!this.#header) {
        if (this.#available < 4) return;
        const headerLength = this.#peek(4).readUInt32LE(0);
        if (this.#available < 4 + headerLength) return;
        this.#header = JSON.parse(this.#peek(4 + headerLength).subarray(4).toString()) as Header;
        this.#bodyStart = 4 + headerLength;
        this.#needed = this.#bodyStart + this.#header.parts.reduce((s, p) => s + p.bytes, 0);
      }
      if (this.#available < this.#needed) return;
      const header = this.#header;
      const message = this.#take(this.#needed);
      this.#header = undefined;
      let offset = this.#bodyStart;
      const tensors: HostTensorMap = {};
      for (const p of header.parts) {
        tensors[p.name] = hostTensorFromBytes(message.subarray(offset, offset + p.bytes), p.shape, p.dtype);
        offset += p.bytes;
      }
      this.#settle(header, tensors);
    }
  }

  /** The first n bytes that have arrived (n <= available), not consumed. */
  #peek(n: number): Buffer {
    if (this.#chunks[0].length < n) this.#chunks = [Buffer.concat(this.#chunks, this.#available)];
    return this.#chunks[0].subarray(0, n);
  }

  /** Removes the first n bytes that have arrived (n <= available), as one buffer. */
  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#available);
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#available -= n;
    return all.subarray(0, n);
  }

  #settle(header: Header, tensors: HostTensorMap): void {
    if (header.ready) {
      this.device = header.device ?? 'PyTorch';
      this.#startup?.resolve(undefined);
      this.#startup = undefined;
      this.#idle();
      return;
    }
    const p = this.#pending.get(header.id!);
    if (!p) return;
    this.#pending.delete(header.id!);
    if (this.#pending.size === 0) this.#idle();
    if (!header.ok) p.reject(new RemoteError(header.message ?? 'unknown error'));
    else p.resolve(header.parts.length > 0 ? tensors : header.value);
  }

  /** Lets the process exit while nothing is pending (like the worker's unref). */
  #idle(): void {
    this.#child.unref();
    (this.#child.stdout as Readable & { unref?: () => void }).unref?.();
  }

  #fail(err: EngineError): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#startup?.reject(err);
    this.#startup = undefined;
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of all) p.reject(err);
  }
}
