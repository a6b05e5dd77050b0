/** `inpaint plot`: loss curves of a training log as a PNG. */
import { parseArgs } from 'node:util';
import { UsageError } from '../core/errors.ts';
import { plotLog } from '../training/plot.ts';
import type { Command } from './args.ts';

export const plotCommand: Command = {
  summary: 'plot the loss curves of a training log (log.jsonl) to a PNG',
  help: `Usage: inpaint plot RUN_DIR/log.jsonl -o curves.png [--keys g,d,val] [--smooth 0.9] [--log-y]

Draws one line per logged scalar (or only --keys), optionally smoothed (exponential moving average)
and on a logarithmic y axis.`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { out: { type: 'string', short: 'o' }, keys: { type: 'string' }, smooth: { type: 'string' }, 'log-y': { type: 'boolean' } },
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one log file');
    if (!values.out) throw new UsageError('missing -o OUT.png');
    await plotLog(positionals[0], values.out, {
      keys: values.keys?.split(','),
      smooth: values.smooth === undefined ? undefined : Number(values.smooth),
      logY: values['log-y'],
    });
    console.log(`wrote ${values.out}`);
  },
};
