/**
 * Typed errors for the whole library. Every error says what was wrong and what to do about it;
 * the CLI maps the classes to exit codes (usage errors vs failures).
 */

/** Base class: all errors the library throws on purpose derive from it. */
export class InpaintError extends Error {
  override readonly name: string = 'InpaintError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The caller asked for something invalid (bad argument, bad option, wrong mask size...). */
export class UsageError extends InpaintError {
  override readonly name = 'UsageError';
}

/** An input file or buffer could not be used (unreadable, not an image, corrupt weights...). */
export class InputError extends InpaintError {
  override readonly name = 'InputError';
}

/** A graph could not be built: shapes or attributes are inconsistent. Names the op and the shapes. */
export class GraphError extends InpaintError {
  override readonly name = 'GraphError';
}

/** ONNX Runtime failed to create or run a session. Names the graph and, where known, the op. */
export class EngineError extends InpaintError {
  override readonly name = 'EngineError';
}

/** Formats a value for an error message: short, and never a whole typed array. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as { length: number }).length})`;
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return String(value);
}

/**
 * The one validation helper used at public boundaries.
 * @throws UsageError "Expected <expected> for <name> but received <actual>"
 */
export function expect(ok: boolean, name: string, expected: string, actual: unknown): asserts ok {
  if (!ok) throw new UsageError(`Expected ${expected} for ${name} but received ${describe(actual)}`);
}
