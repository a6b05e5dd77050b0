/**
 * Training metrics as JSON lines: one object a line, `{ "step": 100, "time": 1718000000.123, "g1_l1": 0.31, ... }`.
 *
 * Each `append` writes its whole line in one call straight to the file descriptor (no user-space
 * buffer), so everything appended before a crash or kill is in the file. A kill in the middle of that
 * write can still leave a torn last line; `JsonlLogger.open` finds it (text after the last newline) and
 * cuts it off before appending, and `readLog` ignores it, so a resumed run never glues a new record
 * onto half an old one.
 *
 * Non-finite values (a NaN loss is worth recording) are written as JSON null and read back as NaN.
 */
import { appendFileSync, closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { expect, InputError } from '../core/errors.ts';

/** One line of the log. `time` is seconds since the Unix epoch, when the record was appended. */
export interface LogRecord {
  step: number;
  time: number;
  [scalar: string]: number;
}

/** What `append` takes: the step and any named scalars (`time` is added by the logger). */
export type LogScalars = { step: number } & Record<string, number>;

export interface OpenLogOptions {
  /**
   * Resuming from a checkpoint saved at this step: records with a larger step were logged after that
   * checkpoint, by a run whose later steps are now redone, so they are dropped (with everything after
   * them) instead of appearing twice on the curves.
   */
  resumeFromStep?: number;
}

/** What `open` removed from an existing file. */
export interface LogRepair {
  /** A torn last line (a run killed mid-write) was dropped. */
  partialLine: boolean;
  /** Complete records dropped because of `resumeFromStep`. */
  laterRecords: number;
}

interface Parsed {
  records: LogRecord[];
  /** Byte offset where each record's line starts. */
  offsets: number[];
  /** Bytes up to and including the last newline: the complete lines. */
  completeBytes: number;
}

/** Parses the complete lines of a log; text after the last newline (a torn write) is ignored. */
function parse(bytes: Buffer, path: string): Parsed {
  const completeBytes = bytes.lastIndexOf(0x0a) + 1;
  const records: LogRecord[] = [];
  const offsets: number[] = [];
  let start = 0;
  let line = 0;
  while (start < completeBytes) {
    const end = bytes.indexOf(0x0a, start);
    line++;
    const text = bytes.subarray(start, end).toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new InputError(`${path}: line ${line} is not JSON (${(err as Error).message}); the log is corrupt`, { cause: err });
    }
    if (typeof value !== 'object' || value === null || typeof (value as LogRecord).step !== 'number') {
      throw new InputError(`${path}: line ${line} is not a record with a numeric "step"`);
    }
    const record = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v === null ? Number.NaN : v])) as LogRecord;
    records.push(record);
    offsets.push(start);
    start = end + 1;
  }
  return { records, offsets, completeBytes };
}

/**
 * An append-only JSON-lines metrics log. Synchronous on purpose: a line is a few dozen bytes, and
 * synchronous appends keep records in call order without a queue.
 *
 * @example
 *   const log = JsonlLogger.open('runs/g1/log.jsonl', { resumeFromStep: checkpoint.step });
 *   log.append({ step, g1_l1: l1, g1_adv: adv });
 *   log.close();
 */
export class JsonlLogger {
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
    /** What opening removed from an existing file. */
    readonly repaired: LogRepair,
  ) {
    this.fd = fd;
  }

  /**
   * Opens (creating it and its folder if needed) a log for appending, after cutting off a torn last
   * line and, with `resumeFromStep`, the records logged after that step.
   * @throws InputError when a complete line of an existing log is not a JSON record
   * @throws UsageError for a `resumeFromStep` that is not a non-negative integer
   */
  static open(path: string, options: OpenLogOptions = {}): JsonlLogger {
    const { resumeFromStep } = options;
    if (resumeFromStep !== undefined) {
      expect(Number.isInteger(resumeFromStep) && resumeFromStep >= 0, 'resumeFromStep', 'a non-negative integer', resumeFromStep);
    }
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, 'a+');
    try {
      const bytes = readFileSync(fd);
      const parsed = parse(bytes, path);
      // Records are appended in step order, so everything from the first later step on is from the
      // abandoned run.
      const firstLater = resumeFromStep === undefined ? -1 : parsed.records.findIndex((r) => r.step > resumeFromStep);
      const keep = firstLater >= 0 ? parsed.offsets[firstLater] : parsed.completeBytes;
      if (keep < bytes.length) {
        ftruncateSync(fd, keep);
        fsyncSync(fd);
      }
      const repaired = { partialLine: parsed.completeBytes < bytes.length, laterRecords: firstLater >= 0 ? parsed.records.length - firstLater : 0 };
      return new JsonlLogger(path, fd, repaired);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /**
   * Appends `{ step, time, ...scalars }` as one line and returns it.
   * @throws UsageError for a step that is not a non-negative integer, a non-number value, a `time`
   *   key (the logger sets it), or a closed log
   */
  append(scalars: LogScalars): LogRecord {
    expect(this.fd !== null, 'the log', 'an open log', `closed log ${this.path}`);
    expect(Number.isInteger(scalars.step) && scalars.step >= 0, 'step', 'a non-negative integer', scalars.step);
    expect(!('time' in scalars), 'scalar names', 'no "time" (the logger sets it)', Object.keys(scalars));
    for (const [k, v] of Object.entries(scalars)) expect(typeof v === 'number', `scalar ${k}`, 'a number', v);
    const { step, ...rest } = scalars;
    // step and time first: the lines stay readable with `head` and `grep`.
    const record: LogRecord = { step, time: Date.now() / 1000, ...rest };
    appendFileSync(this.fd, `${JSON.stringify(record)}\n`);
    return record;
  }

  /** Flushes to disk and closes the file. Idempotent. */
  close(): void {
    if (this.fd === null) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * Reads every complete record of a log (a torn last line, e.g. from a run being written right now, is
 * skipped). Null values read as NaN.
 * @throws InputError when the file is missing or a complete line is not a JSON record
 * @example const losses = (await readLog('runs/g1/log.jsonl')).map((r) => r.g1_l1);
 */
export async function readLog(path: string): Promise<LogRecord[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new InputError(`cannot read the log ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parse(bytes, path).records;
}
