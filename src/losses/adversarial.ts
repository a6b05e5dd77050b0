/**
 * GAN losses for the PatchGAN discriminators D1 and D2 (§3.3.1 eq. 3, §3.3.3 eq. 6).
 *
 * The paper's adversarial loss is the standard GAN objective (Goodfellow et al. 2014):
 *   max_D E[log D(real)] + E[log(1 - D(fake))],
 * with D a probability. We take D's raw logits x (D = sigmoid(x)) and use the identities
 *   -log sigmoid(x) = softplus(-x),   -log(1 - sigmoid(x)) = softplus(x),
 * so the discriminator minimises softplus(-real) + softplus(fake). Computing softplus on the logits
 * (ONNX Softplus, evaluated stably for large |x|) never forms sigmoid(x) and then its log, which
 * underflows to log(0) = -inf once |x| reaches a few tens in float32. The generator minimises the
 * non-saturating form -log D(fake) = softplus(-fake), as Goodfellow et al. recommend: the minimax form
 * log(1 - D(fake)) has a vanishing gradient exactly when D confidently rejects the fakes, early on.
 *
 * Every term is a mean over all elements (batch and PatchGAN patches), so the value does not depend
 * on the image size; the paper's lambda_2 = 1 weighs it against the perceptual term.
 */
import type { Tensor } from '../graph/graph.ts';
import * as op from '../graph/ops.ts';

/**
 * The discriminator's loss: mean(softplus(-realLogits)) + mean(softplus(fakeLogits)), i.e. binary
 * cross-entropy with real = 1 and fake = 0. The two logit tensors may differ in shape.
 * At chance (all logits 0) it is 2 ln 2.
 * @example
 *   const dLoss = discriminatorLoss(d(scope, i0, gt), d(scope, i0, i1));
 */
export function discriminatorLoss(realLogits: Tensor, fakeLogits: Tensor): Tensor {
  return op.add(op.reduceMean(op.softplus(op.neg(realLogits))), op.reduceMean(op.softplus(fakeLogits)));
}

/**
 * The generator's adversarial loss, non-saturating: mean(softplus(-fakeLogits)) = -mean(log D(fake)).
 * At chance it is ln 2.
 * @example
 *   const gLoss = op.add(op.mul(perceptualL2(vgg(out), vgg(gt)), 10), generatorLoss(d(scope, fgt, out)));
 */
export function generatorLoss(fakeLogits: Tensor): Tensor {
  return op.reduceMean(op.softplus(op.neg(fakeLogits)));
}
