/**
 * What every command is, and the parsers of flag values they share: one module that the commands
 * and the command table import, so that no command imports another (or the table) for a helper.
 */
import { UsageError } from '../core/errors.ts';

/** A subcommand of `inpaint`. */
export interface Command {
  /** One line for the command list. */
  summary: string;
  /** Full help text (usage, options, examples). */
  help: string;
  /** Resolves with the exit code when it is not 0 and not an error's (e.g. 130 after SIGINT). */
  run(args: string[]): Promise<void | number>;
}

/** A flag's value as an integer > 0. @throws UsageError naming the flag */
export function positiveInt(value: string | undefined, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`Expected a positive integer for ${name} but received ${JSON.stringify(value)}`);
  return n;
}

/** A flag's value as a safe integer >= `min`. @throws UsageError naming the flag and the bound */
export function integerAtLeast(value: string, name: string, min: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new UsageError(`Expected an integer >= ${min} for ${name} but received ${JSON.stringify(value)}`);
  return n;
}

/** A flag's value as an integer >= 0. @throws UsageError naming the flag */
export function nonNegativeInt(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || value.trim() === '') throw new UsageError(`Expected a non-negative integer for ${name} but received ${JSON.stringify(value)}`);
  return n;
}

/** A flag's value as a number >= 0. @throws UsageError naming the flag */
export function nonNegativeNumber(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || value.trim() === '') throw new UsageError(`Expected a number >= 0 for ${name} but received ${JSON.stringify(value)}`);
  return n;
}

/** A flag's value as an integer (its range is the option's to check). @throws UsageError naming the flag */
export function integer(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || value.trim() === '') throw new UsageError(`Expected an integer for ${flag} but received ${JSON.stringify(value)}`);
  return n;
}

/** A flag's value as a finite number (its range is the option's to check). @throws UsageError naming the flag */
export function number(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || value.trim() === '') throw new UsageError(`Expected a number for ${flag} but received ${JSON.stringify(value)}`);
  return n;
}

/** "256,512" -> [256, 512]; `resolveInpaintOptions` checks the values. */
export function parseScales(text: string): number[] {
  const scales = text.split(',').map((s) => Number(s.trim()));
  if (scales.some((s) => !Number.isInteger(s))) throw new UsageError(`Expected comma-separated integers for --scales (e.g. 256,512) but received ${JSON.stringify(text)}`);
  return scales;
}

/**
 * `args` with each of `flags` followed by a negative number joined to it (`--rotate -3` becomes
 * `--rotate=-3`): `parseArgs` takes a value that starts with a dash for a flag of its own.
 */
export function joinNegativeValues(args: readonly string[], flags: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (flags.includes(args[i]) && i + 1 < args.length && /^-(\d|\.\d)/.test(args[i + 1])) out.push(`${args[i]}=${args[++i]}`);
    else out.push(args[i]);
  }
  return out;
}
