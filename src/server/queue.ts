/**
 * One inference at a time, a bounded line of waiting requests.
 *
 * The model's ONNX sessions are shared by every request, and one inference already keeps the CPU
 * busy, so running two at once would only make both slower and double the memory. `JobQueue` runs
 * its tasks strictly one after another; at most `maxWaiting` wait behind the running one, and one
 * more is refused at once (`QueueFullError`: the server answers 503 with Retry-After) instead of
 * piling up memory and latency.
 *
 * Cancelling (the request's `AbortSignal`: the client went away, or its time limit passed):
 *  - a waiting task leaves the line at once and never runs, freeing its place;
 *  - a running task cannot be interrupted (ONNX Runtime has no way to stop a session run midway), so
 *    its caller is released at once and its result is dropped when it arrives; the queue still
 *    counts it as running until then, which keeps the promise of one inference at a time.
 */

/** The line is full: try again later. */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
  /** Seconds after which a retry has a fair chance, from the mean time of recent tasks. */
  readonly retryAfterSeconds: number;
  constructor(waiting: number, retryAfterSeconds: number) {
    super(`the server is busy: ${waiting} requests are already waiting; try again in ${retryAfterSeconds} s`);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The task was cancelled (its signal aborted) before it finished; `reason` is the signal's. */
export class CancelledError extends Error {
  override readonly name = 'CancelledError';
  constructor(
    readonly reason: unknown,
    /** Whether the task had started: its work is then done anyway, and only its result dropped. */
    readonly started: boolean,
  ) {
    super(started ? 'cancelled while running: the result will be discarded' : 'cancelled while waiting: it never ran');
  }
}

interface Waiting {
  task: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export interface QueueStats {
  running: boolean;
  waiting: number;
  maxWaiting: number;
  /** Tasks finished (with a result or an error), cancelled ones included. */
  completed: number;
  /** Cancelled before they started. */
  cancelledWaiting: number;
  /** Cancelled while running (their results were discarded). */
  cancelledRunning: number;
  /** Mean seconds of the last tasks, 0 before the first. */
  meanSeconds: number;
}

export class JobQueue {
  readonly maxWaiting: number;
  #line: Waiting[] = [];
  #running = false;
  #idle: (() => void)[] = [];
  #recent: number[] = [];
  #completed = 0;
  #cancelledWaiting = 0;
  #cancelledRunning = 0;

  /** @param maxWaiting how many tasks may wait behind the running one (0: none may wait). */
  constructor(maxWaiting: number) {
    if (!Number.isSafeInteger(maxWaiting) || maxWaiting < 0) throw new RangeError(`Expected a non-negative integer for maxWaiting but received ${maxWaiting}`);
    this.maxWaiting = maxWaiting;
  }

  get stats(): QueueStats {
    const mean = this.#recent.length === 0 ? 0 : this.#recent.reduce((a, b) => a + b, 0) / this.#recent.length;
    return {
      running: this.#running,
      waiting: this.#line.length,
      maxWaiting: this.maxWaiting,
      completed: this.#completed,
      cancelledWaiting: this.#cancelledWaiting,
      cancelledRunning: this.#cancelledRunning,
      meanSeconds: mean,
    };
  }

  /**
   * Runs `task` when its turn comes.
   * @throws QueueFullError at once when `maxWaiting` tasks already wait
   * @throws CancelledError when `signal` aborts first (the task then never runs, or runs to its end
   *   unobserved)
   */
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(new CancelledError(signal.reason, false));
    const busy = this.#running || this.#line.length > 0;
    if (busy && this.#line.length >= this.maxWaiting) {
      const { meanSeconds } = this.stats;
      return Promise.reject(new QueueFullError(this.#line.length, Math.max(1, Math.ceil(meanSeconds * (this.#line.length + 1)))));
    }
    return new Promise<T>((resolve, reject) => {
      const entry: Waiting = { task, resolve: resolve as (v: unknown) => void, reject, signal };
      if (signal) {
        entry.onAbort = () => {
          const at = this.#line.indexOf(entry);
          if (at >= 0) {
            this.#line.splice(at, 1);
            this.#cancelledWaiting++;
            this.#completed++;
            reject(new CancelledError(signal.reason, false));
            this.#notifyIdle();
          }
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.#line.push(entry);
      this.#next();
    });
  }

  /** Resolves when nothing runs and nothing waits (at once if so now). */
  whenIdle(): Promise<void> {
    if (!this.#running && this.#line.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #next(): void {
    if (this.#running) return;
    const entry = this.#line.shift();
    if (!entry) {
      this.#notifyIdle();
      return;
    }
    this.#running = true;
    const { signal } = entry;
    let settled = false;
    // From now on an abort releases the caller but not the queue.
    if (signal && entry.onAbort) signal.removeEventListener('abort', entry.onAbort);
    const onAbort = () => {
      if (settled) return;
      settled = true;
      this.#cancelledRunning++;
      entry.reject(new CancelledError(signal!.reason, true));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const started = performance.now();
    let outcome: Promise<unknown>;
    try {
      outcome = Promise.resolve(entry.task());
    } catch (err) {
      outcome = Promise.reject(err);
    }
    // The queue moves on before the caller hears back, so that a caller who sends its next task
    // on hearing back finds the place free.
    const finish = (deliver: () => void) => {
      signal?.removeEventListener('abort', onAbort);
      this.#recent.push((performance.now() - started) / 1000);
      if (this.#recent.length > 20) this.#recent.shift();
      this.#completed++;
      this.#running = false;
      if (!settled) deliver();
      settled = true;
      this.#next();
    };
    outcome.then(
      (value) => finish(() => entry.resolve(value)),
      (err) => finish(() => entry.reject(err)),
    );
  }

  #notifyIdle(): void {
    if (this.#running || this.#line.length > 0) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}
