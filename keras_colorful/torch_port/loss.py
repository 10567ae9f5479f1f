"""The class-rebalanced soft cross-entropy in PyTorch, as `keras_colorful.losses`.

The recipe of `RebalancedSoftCrossEntropy` (paper Sec. 2.1-2.2, the release's training layers),
with its numbers from `keras_colorful.constants`: the ground-truth ab subsampled by 4 from the
top-left to the logits' resolution; each pixel soft-encoded over its 10 nearest bins with a
Gaussian of sigma 5; the cross-entropy weighted by the class weight of the pixel's nearest bin,
and by 0 for a gray image (no |a| or |b| above 5); summed over pixels, divided by the batch size.
The nearest bins are found by brute force over all 313 centres (`torch.topk`), which a GPU does
quickly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from keras_colorful import constants


def rebalanced_loss(
    logits: torch.Tensor,
    ab: torch.Tensor,
    bin_centers: torch.Tensor,
    class_weights: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(weighted, unweighted) soft cross-entropy, sums over pixels / batch, as the Keras layer.

    Args:
        logits: `[N, Q, h, w]` (any float dtype; computed in float32).
        ab: `[N, 2, H, W]` ground truth at the input's resolution.
        bin_centers: `[Q, 2]` float32 (`keras_colorful.bins.ab_bin_centers()`).
        class_weights: `[Q]` float32 (`keras_colorful.priors.class_weights(prior)`).

    Returns:
        Two scalars: the rebalanced loss the network trains on, and the same without the class
        and gray weights.
    """
    batch, bins, height, width = logits.shape
    subsample = constants.AB_SUBSAMPLE
    ab = ab[:, :, ::subsample, ::subsample][:, :, :height, :width].float()
    pixels = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    distances = (pixels[:, None, :] - bin_centers[None]).square().sum(-1)
    nearest, indices = torch.topk(distances, constants.SOFT_ENCODE_NEIGHBORS, dim=-1,
                                  largest=False, sorted=True)
    targets = torch.softmax(-nearest / (2.0 * constants.SOFT_ENCODE_SIGMA**2), dim=-1)
    log_probs = F.log_softmax(logits.float().permute(0, 2, 3, 1).reshape(-1, bins), dim=-1)
    cross_entropy = -(targets * log_probs.gather(1, indices)).sum(-1)
    non_gray = (ab.abs().amax(dim=(1, 2, 3)) > constants.GRAY_THRESHOLD).float()
    pixel_weights = class_weights[indices[:, 0]] * non_gray.repeat_interleave(height * width)
    return (cross_entropy * pixel_weights).sum() / batch, cross_entropy.sum() / batch
