/** `inpaint export`: makes a model bundle from training checkpoints. */
import { parseArgs } from 'node:util';
import { UsageError } from '../core/errors.ts';
import { exportBundle } from '../training/export.ts';
import type { Command } from './args.ts';

export const exportCommand: Command = {
  summary: 'make a model bundle (what inpaint loads) from G1, G2 and feature-guide checkpoints',
  help: `Usage: inpaint export --g1 G1.ckpt --g2 G2.ckpt [--g2-512 G2_512.ckpt] [--guide GUIDE.ckpt] -o BUNDLE_DIR [--fp16]

Writes BUNDLE_DIR/bundle.json and one safetensors file per network (weights and batch-norm
statistics; --fp16 stores them as float16, half the size). bundle.json records each file's size
and sha256, which loading checks. Use the best.ckpt of each run for the best validation loss.
Each of --g1, --g2 and --g2-512 may also be a bundle folder, to take that network from it: a G2
trained at 512 joins a shipped bundle with --g1 BUNDLE --g2 BUNDLE --g2-512 G2_512.ckpt.
--guide adds the feature guide ('inpaint train guide'), a checkpoint or a bundle folder that has
one; it may be of another size than the preset of G1's run (the bundle records the guide's own) but
must have been trained with the same VGG weights. Without --guide the bundle has none, and the
fill is guided by G1 as before.

Examples:
  inpaint export --g1 runs/g1/best.ckpt --g2 runs/g2/best.ckpt -o my-model --fp16
  inpaint export --g1 models/default --g2 models/default --g2-512 runs/g2-512/best.ckpt -o my-model --fp16
  inpaint export --g1 models/default --g2 models/default --guide runs/guide/best.ckpt -o my-model --fp16
  inpaint run photo.jpg --mask mask.png --model my-model -o out.png`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        g1: { type: 'string' },
        g2: { type: 'string' },
        'g2-512': { type: 'string' },
        guide: { type: 'string' },
        out: { type: 'string', short: 'o' },
        fp16: { type: 'boolean' },
      },
    });
    if (!values.g1 || !values.g2 || !values.out) throw new UsageError('--g1, --g2 and -o are required');
    const g2: Record<number, string> = { 256: values.g2 };
    if (values['g2-512']) g2[512] = values['g2-512'];
    await exportBundle({ g1: values.g1, g2, guide: values.guide, out: values.out, dtype: values.fp16 ? 'float16' : 'float32' });
    console.log(`wrote bundle ${values.out}`);
  },
};
