/**
 * The pretrained VGG19 layers up to relu3_1 ("normalised" weights of Gatys et al.) that the
 * contextual features are computed with: decoded from the bytes of the public legacy PyTorch file or
 * of a safetensors file holding the same keys. No platform here: vgg-weights.ts reads files in Node,
 * web.ts fetches the file.
 */
import { InputError } from '../core/errors.ts';
import { decodeSafetensors } from '../nn/safetensors-format.ts';
import { readLegacyTorch, type TorchTensor } from './pth.ts';

/** sha256 of the public `vgg_normalised_conv3_1.pth`; pin it when downloading the file. */
export const VGG_SHA256 = 'ff8506173d3a17e7b0fbfbff242c00b6827cfbcd7c21852b46806ae6a3fd7b09';

/** Public origin of the file (repository pietrocarbo/deep-transfer, Apache-2.0). */
export const VGG_SOURCE_URL =
  'https://raw.githubusercontent.com/pietrocarbo/deep-transfer/master/models/autoencoder_vgg19/vgg19_3/vgg_normalised_conv3_1.pth';

/** Names of the convolutions, in network order. */
export type VggLayerName = 'conv0' | 'conv1_1' | 'conv1_2' | 'conv2_1' | 'conv2_2' | 'conv3_1';

/** One convolution: OIHW weights and one bias per output channel. */
export interface VggLayer {
  name: VggLayerName;
  weight: Float32Array;
  weightShape: [number, number, number, number];
  bias: Float32Array;
}

/** The six convolutions of VGG19 up to relu3_1, in network order. */
export interface VggWeights {
  layers: VggLayer[];
}

/**
 * The layer table: file key (position in the original torch `nn.Sequential`) and OIHW shape.
 * conv0 is a 1x1 convolution mapping RGB in [0,1] to mean-subtracted BGR*255; the 3x3 convolutions
 * follow reflection padding of 1 and are followed by ReLU; a 2x2 ceil-mode max-pool follows conv1_2
 * and conv2_2.
 */
export const VGG_LAYER_TABLE: readonly {
  readonly name: VggLayerName;
  readonly key: string;
  readonly shape: readonly [number, number, number, number];
}[] = [
  { name: 'conv0', key: '0', shape: [3, 3, 1, 1] },
  { name: 'conv1_1', key: '2', shape: [64, 3, 3, 3] },
  { name: 'conv1_2', key: '5', shape: [64, 64, 3, 3] },
  { name: 'conv2_1', key: '9', shape: [128, 64, 3, 3] },
  { name: 'conv2_2', key: '12', shape: [128, 128, 3, 3] },
  { name: 'conv3_1', key: '16', shape: [256, 128, 3, 3] },
];

/** Where to get the file, for messages. */
export const HOW_TO_GET = `Download ${VGG_SOURCE_URL} (sha256 ${VGG_SHA256})`;

/**
 * Decodes the VGG weights from the bytes of a legacy PyTorch `.pth` file or a safetensors file (told
 * apart by content, not extension) whose tensors are named `<key>.weight` / `<key>.bias` as in the
 * layer table. Extra tensors are ignored.
 * @param where names the file in messages (a path or a URL)
 * @throws InputError when the bytes are in neither format, corrupt, hold a value that is NaN or
 *   infinite, or lack a layer or have one of the wrong shape.
 */
export function decodeVggWeights(bytes: Uint8Array, where: string): VggWeights {
  let tensors: Map<string, TorchTensor>;
  try {
    tensors = decodeWeightFile(bytes);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`${where}: ${err.message}`, { cause: err });
    throw err;
  }

  const layers = VGG_LAYER_TABLE.map(({ name, key, shape }): VggLayer => {
    const weight = tensors.get(`${key}.weight`);
    const bias = tensors.get(`${key}.bias`);
    if (weight === undefined || bias === undefined) {
      throw new InputError(`${where} has no tensors ${key}.weight and ${key}.bias for ${name}; it is not the VGG19 relu3_1 file. ${HOW_TO_GET}.`);
    }
    if (weight.shape.join() !== shape.join() || bias.shape.join() !== String(shape[0])) {
      throw new InputError(
        `${where}: ${name} (${key}) has weight [${weight.shape}] and bias [${bias.shape}] but VGG19 needs ` +
          `[${shape}] and [${shape[0]}]. ${HOW_TO_GET}.`,
      );
    }
    for (const [part, t] of [['weight', weight], ['bias', bias]] as const) {
      const i = t.data.findIndex((v) => !Number.isFinite(v));
      if (i >= 0) throw new InputError(`${where}: ${name} (${key}.${part}) holds ${t.data[i]} at index ${i}: the file is corrupt. ${HOW_TO_GET}.`);
    }
    return { name, weight: weight.data, weightShape: [...shape], bias: bias.data };
  });
  return { layers };
}

/** Legacy torch files start with pickle PROTO; safetensors with an 8-byte length then `{`. */
function decodeWeightFile(bytes: Uint8Array): Map<string, TorchTensor> {
  if (bytes[0] === 0x80) return readLegacyTorch(bytes);
  if (bytes.length > 8 && bytes[8] === 0x7b) return decodeSafetensors(bytes).tensors;
  throw new InputError(`Neither a legacy PyTorch file nor a safetensors file. ${HOW_TO_GET}.`);
}
