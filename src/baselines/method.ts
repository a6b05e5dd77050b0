/**
 * The common shape of every inpainting method (ours, its G1-only ablation, PatchMatch, OpenCV's
 * Telea and Navier-Stokes), so the `inpaint` command and the evaluation harness treat them alike.
 */
import type { MaskImage, RgbImage } from '../core/image.ts';

export interface InpaintMethod {
  /** A short stable name used in reports and on the command line, e.g. 'ours', 'patchmatch'. */
  readonly name: string;
  /** Fills the hole (mask 1) of `image`; known pixels must come back unchanged. */
  inpaint(image: RgbImage, mask: MaskImage): Promise<RgbImage>;
  dispose(): void | Promise<void>;
}
