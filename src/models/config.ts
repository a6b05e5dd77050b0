/**
 * Sizes of the four networks, as typed configs with named presets and one `resolveModelConfig` that
 * merges a preset with overrides and validates the result. The resolved config is what a checkpoint
 * must be saved with: it alone determines every parameter's name and shape.
 *
 * Presets (forward GFLOPs at 256x256, batch 1, from `modelSummary`; `inpaint models` prints them all):
 * - `paper`: the paper's networks at pix2pix/pix2pixHD sizes (base width 64, 9 residual blocks).
 *   G1 45.6 M parameters, 104 GFLOPs (87 of them in the 18 dilated 3x3 convs at 512 channels);
 *   G2 30.5 M, 14 GFLOPs; D1 6.7 and D2 8.7 GFLOPs.
 * - `small`: base width 16 for all four, all 9 residual blocks kept (they are the paper's
 *   receptive-field mechanism and cost only 5.4 GFLOPs at width 16). G1 2.9 M, 7.1 GFLOPs; G2
 *   1.9 M, 1.1 GFLOPs; D1 0.5, D2 1.0. Every G1 step also needs VGG19 up to relu3_1 on I1 and on the
 *   ground truth plus a backward pass through one of them (~45 GFLOPs at 256), so a G1 step is about
 *   3 x 7 + 45 + 3 ≈ 70 GFLOPs against ≈ 360 for `paper`: around a second a step on this 2-core CPU
 *   (bench/networks measured 50-150 GFLOP/s), thousands of steps an hour. Width 24 would cost 2.25x
 *   in G1 and make it, not VGG, the larger share of the step.
 * - `tiny`: base width 4, 2 residual blocks: fast tests.
 */
import { expect, UsageError } from '../core/errors.ts';

/** G1 Image2Feature: pix2pixHD's global generator with dilated residual blocks (§3.3.1). */
export interface G1Config {
  /** Channels of the first 7x7 conv; each of the 3 stride-2 convs doubles it (pix2pixHD's ngf). */
  readonly width: number;
  /** Residual blocks at 1/8 resolution, each two dilated 3x3 convs (the paper: 9). */
  readonly resBlocks: number;
  /** Dilation of every residual-block conv. */
  readonly dilation: number;
}

/** G2 Feature2Image: a U-Net of 7 conv and 8 resize-conv blocks (§3.3.3). */
export interface G2Config {
  /** Channels of the first conv block; the encoder goes width x [1, 2, 4, 8, 8, 8, 8]. */
  readonly width: number;
}

/** The feature guide (ours): dilated residual blocks at relu3_1's resolution (`feature-guide.ts`). */
export interface GuideConfig {
  /** Channels of every block. */
  readonly width: number;
  /** Residual blocks (dilations 1, 2, 4, 8, 16, then again). */
  readonly blocks: number;
}

/** A PatchGAN discriminator (pix2pix's NLayerDiscriminator). */
export interface PatchGanConfig {
  /** Channels of the first conv; doubled by each later strided conv, capped at 8 x width. */
  readonly width: number;
  /** Stride-2 convs before the two stride-1 convs (pix2pix: 3, a 70x70 receptive field). */
  readonly layers: number;
}

/** The sizes of all four networks. */
export interface ModelConfig {
  readonly g1: G1Config;
  readonly g2: G2Config;
  readonly d1: PatchGanConfig;
  /** D2 runs its first two strided convs on the image alone (to reach feature resolution), so `layers` >= 2. */
  readonly d2: PatchGanConfig;
  /** The feature guide, an optional fifth network of a bundle (ours). */
  readonly guide: GuideConfig;
}

export const MODEL_PRESET_NAMES = ['paper', 'small', 'tiny'] as const;
export type ModelPreset = (typeof MODEL_PRESET_NAMES)[number];

const patchGan = (width: number): PatchGanConfig => ({ width, layers: 3 });

/** The named configurations (see the module comment for the reasoning behind each). */
export const MODEL_PRESETS: Readonly<Record<ModelPreset, ModelConfig>> = {
  paper: { g1: { width: 64, resBlocks: 9, dilation: 2 }, g2: { width: 64 }, d1: patchGan(64), d2: patchGan(64), guide: { width: 96, blocks: 8 } },
  small: { g1: { width: 16, resBlocks: 9, dilation: 2 }, g2: { width: 16 }, d1: patchGan(16), d2: patchGan(16), guide: { width: 96, blocks: 8 } },
  tiny: { g1: { width: 4, resBlocks: 2, dilation: 2 }, g2: { width: 4 }, d1: patchGan(4), d2: patchGan(4), guide: { width: 4, blocks: 2 } },
};

/** What `resolveModelConfig` accepts: a preset name and per-network overrides of any of its fields. */
export interface ModelConfigInput {
  /** Default 'paper'. */
  preset?: string;
  g1?: Partial<G1Config>;
  g2?: Partial<G2Config>;
  d1?: Partial<PatchGanConfig>;
  d2?: Partial<PatchGanConfig>;
  guide?: Partial<GuideConfig>;
}

const NETWORK_KEYS = ['g1', 'g2', 'd1', 'd2', 'guide'] as const;

/** The least value of every field; D2 needs two strided convs to bring the image to feature resolution. */
const MINIMUM: { readonly [K in keyof ModelConfig]: { readonly [F in keyof ModelConfig[K]]: number } } = {
  g1: { width: 1, resBlocks: 0, dilation: 1 },
  g2: { width: 1 },
  d1: { width: 1, layers: 1 },
  d2: { width: 1, layers: 2 },
  guide: { width: 1, blocks: 0 },
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Merges a preset with overrides and validates every field. Input may come from JSON (a CLI flag, a
 * saved checkpoint), so it is checked at run time, and unknown keys are errors rather than silently
 * ignored typos.
 * @example
 * const config = resolveModelConfig({ preset: 'small', g1: { resBlocks: 6 } });
 * config.g1; // { width: 16, resBlocks: 6, dilation: 2 }
 * @throws UsageError for an unknown preset, network or field, or a field that is not an integer at
 *   least its minimum (widths and dilation >= 1, resBlocks >= 0, d1.layers >= 1, d2.layers >= 2)
 */
export function resolveModelConfig(input: ModelConfigInput = {}): ModelConfig {
  expect(isRecord(input), 'model config', 'an object', input);
  const presetName = input.preset ?? 'paper';
  expect((MODEL_PRESET_NAMES as readonly unknown[]).includes(presetName), 'model config preset', `one of ${MODEL_PRESET_NAMES.join(', ')}`, presetName);
  for (const key of Object.keys(input)) {
    if (key !== 'preset' && !(NETWORK_KEYS as readonly string[]).includes(key)) {
      throw new UsageError(`Unknown key ${JSON.stringify(key)} in the model config; expected preset, ${NETWORK_KEYS.join(', ')}`);
    }
  }
  const preset = MODEL_PRESETS[presetName as ModelPreset];
  const merge = <K extends keyof ModelConfig>(key: K): ModelConfig[K] => {
    const override: unknown = input[key] ?? {};
    expect(isRecord(override), `model config ${key}`, 'an object', override);
    const minimum: Record<string, number> = MINIMUM[key];
    const merged: Record<string, number> = { ...preset[key] };
    for (const [field, value] of Object.entries(override)) {
      if (!(field in minimum)) {
        throw new UsageError(`Unknown field ${JSON.stringify(field)} in model config ${key}; expected ${Object.keys(minimum).join(', ')}`);
      }
      expect(Number.isSafeInteger(value) && (value as number) >= minimum[field], `model config ${key}.${field}`, `an integer >= ${minimum[field]}`, value);
      merged[field] = value as number;
    }
    return merged as unknown as ModelConfig[K];
  };
  return { g1: merge('g1'), g2: merge('g2'), d1: merge('d1'), d2: merge('d2'), guide: merge('guide') };
}
