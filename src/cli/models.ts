/** `inpaint models`: parameters and GFLOPs of every network in every model configuration. */
import { printModelSummary } from '../models/summary.ts';
import type { Command } from './args.ts';

export const modelsCommand: Command = {
  summary: 'print parameters and GFLOPs of each network (G1, G2, D1, D2) per model configuration',
  help: `Usage: inpaint models

Prints, for each model configuration (paper, small, tiny) and network, the parameter count and the
GFLOPs of one forward pass at 256x256 and 512x512 (a multiply-add counts as 2 FLOPs).`,
  async run() {
    printModelSummary();
  },
};
