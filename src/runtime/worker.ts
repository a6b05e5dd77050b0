/**
 * The engine's worker thread. It owns every ONNX Runtime session and runs them here, because
 * `session.run()` blocks the thread that calls it. It answers the requests of protocol.ts, one reply
 * per request, matched by id.
 */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { READY, type HostTensorMap, type Reply, type Request, type ValueInfo, type WorkerConfig } from './protocol.ts';
import { fromOrt, toOrt } from './ort-node.ts';

interface Entry {
  session: ort.InferenceSession;
  /** Runs and the release of a session are chained so a release never overtakes a queued run. */
  busy: Promise<unknown>;
}

const port = parentPort;
if (!port) throw new Error('worker.ts must be started as a worker thread by engine.ts');
const { threads, keepSpinning, memoryArena } = workerData as WorkerConfig;
const sessions = new Map<number, Entry>();
let closing = false;

function describeValues(list: readonly ort.InferenceSession.ValueMetadata[]): ValueInfo[] {
  return list.map((m) => (m.isTensor ? { name: m.name, dtype: m.type, shape: [...m.shape] } : { name: m.name, dtype: 'non-tensor', shape: [] }));
}

function entry(id: number): Entry {
  const e = sessions.get(id);
  if (!e) throw new Error(`no session ${id} in the worker`);
  return e;
}

/** Forgets the session at once (`count` no longer sees it) and frees it once its queued runs end. */
async function release(id: number, e: Entry): Promise<void> {
  sessions.delete(id);
  await e.busy;
  await e.session.release();
}

async function handle(req: Request): Promise<{ value: unknown; transfer: ArrayBuffer[] }> {
  switch (req.op) {
    case 'create': {
      const session = await ort.InferenceSession.create(req.model, {
        intraOpNumThreads: threads,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        enableCpuMemArena: memoryArena,
        // Failures reach the caller as EngineErrors carrying ORT's message; its own log line (severity
        // 3) would only repeat them on stderr.
        logSeverityLevel: 4,
        // Stops the pool's spinning threads when a run returns (see EngineOptions.keepSpinning).
        ...(keepSpinning ? {} : { extra: { session: { force_spinning_stop: '1' } } }),
      });
      sessions.set(req.session, { session, busy: Promise.resolve() });
      return { value: { inputs: describeValues(session.inputMetadata), outputs: describeValues(session.outputMetadata) }, transfer: [] };
    }
    case 'run': {
      const e = entry(req.session);
      const result = e.busy.then(async () => {
        if (closing) throw new Error('the engine was disposed before this run started');
        const feeds = Object.fromEntries(Object.entries(req.feeds).map(([name, t]) => [name, toOrt(t)]));
        return e.session.run(feeds, req.fetch);
      });
      e.busy = result.catch(() => undefined);
      const outputs = await result;
      const value: HostTensorMap = {};
      for (const [name, t] of Object.entries(outputs)) value[name] = fromOrt(t);
      return { value, transfer: Object.values(value).map((t) => t.data.buffer as ArrayBuffer) };
    }
    case 'release':
      await release(req.session, entry(req.session));
      return { value: null, transfer: [] };
    case 'count':
      return { value: sessions.size, transfer: [] };
    case 'close': {
      closing = true;
      await Promise.all([...sessions].map(([id, e]) => release(id, e)));
      return { value: null, transfer: [] };
    }
  }
}

port.on('message', (req: Request) => {
  handle(req).then(
    ({ value, transfer }) => port.postMessage({ id: req.id, ok: true, value } satisfies Reply, transfer),
    (err: unknown) => port.postMessage({ id: req.id, ok: false, message: err instanceof Error ? err.message : String(err) } satisfies Reply),
  );
});
port.postMessage(READY);
