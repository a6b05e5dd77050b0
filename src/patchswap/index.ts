/**
 * Patch-swap (paper §3.3.2): the graph (`patchswap.ts`), `PatchSwapper` that runs it on an Engine
 * (`swapper.ts`), the search near a previous swap's choices for later scales (`local.ts`), and the
 * relu3_1 grid its masks are read on (`features/grid.ts`).
 */
export { FEATURE_STRIDE, featureShape, featureSize, hasKnownPatch, mapMaskToFeatures } from '../features/grid.ts';
export { type CellBox, type LocalSwapInput, type LocalSwapOutput, localPatchSwap, localPatchSwapIn, offsetsFrom, swapWindow, type WholeMap } from './local.ts';
export { matchFlops, patchSwap, type PatchSwapOptions, type PatchSwapResult } from './patchswap.ts';
export { PatchSwapper, type PatchSwapperOptions, type SwapInput, type SwapOutput } from './swapper.ts';
