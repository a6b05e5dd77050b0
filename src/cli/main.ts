/**
 * The `inpaint` command line: dispatches subcommands, maps errors to messages and exit codes.
 * Exit codes: 0 success, 1 failure (bad input file, engine error...), 2 usage error (bad flags),
 * 130 / 143 for a training stopped by SIGINT / SIGTERM (after its checkpoint), as shells report a
 * process killed by the signal, so that `train && export` does not export a half-trained model.
 */
import { InpaintError, UsageError } from '../core/errors.ts';
import type { Command } from './args.ts';
import { demoCommand } from './demo.ts';
import { evalCommand } from './eval.ts';
import { exportCommand } from './export.ts';
import { isImageFile } from './files.ts';
import { inpaintCommand } from './inpaint.ts';
import { masksCommand } from './masks.ts';
import { modelsCommand } from './models.ts';
import { plotCommand } from './plot.ts';
import { selectCommand } from './select.ts';
import { serveCommand } from './serve.ts';
import { stylizeCommand } from './stylize.ts';
import { trainCommand } from './train.ts';

const COMMANDS: Record<string, Command> = {
  run: inpaintCommand,
  select: selectCommand,
  demo: demoCommand,
  masks: masksCommand,
  models: modelsCommand,
  train: trainCommand,
  plot: plotCommand,
  export: exportCommand,
  eval: evalCommand,
  stylize: stylizeCommand,
  serve: serveCommand,
};

function overview(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const list = Object.entries(COMMANDS)
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
    .join('\n');
  return `inpaint: fill holes in photographs (Contextual-based Image Inpainting, Song et al. 2018)

Usage:
  inpaint IMAGE --mask MASK [-o OUT] fill the hole (same as 'inpaint run ...'; without -o,
                                     the result goes beside IMAGE as <stem>-inpainted.<ext>)
  inpaint ERASED.png [-o OUT]        fill what was erased in an image editor (its transparent pixels)
  inpaint <command> [options]        run a command
  inpaint <command> --help           help for one command

Commands:
${list}
`;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Runs the CLI with the given arguments; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(overview());
    return name ? EXIT_OK : EXIT_USAGE;
  }
  // `inpaint IMAGE --mask MASK [-o OUT]` is short for `inpaint run IMAGE ...`.
  if (!COMMANDS[name] && (isImageFile(name) || name.startsWith('--'))) return main(['run', ...argv]);
  const command = COMMANDS[name];
  if (!command) {
    console.error(`inpaint: unknown command ${JSON.stringify(name)}\n\n${overview()}`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return EXIT_OK;
  }
  try {
    return (await command.run(rest)) ?? EXIT_OK;
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`inpaint ${name}: ${(err as Error).message}\nRun 'inpaint ${name} --help' for usage.`);
      return EXIT_USAGE;
    }
    if (err instanceof InpaintError) {
      console.error(`inpaint ${name}: ${err.message}`);
      return EXIT_FAILURE;
    }
    throw err;
  }
}
