"""The class-rebalanced soft cross-entropy of the paper, as a Keras "endpoint" loss layer.

The layer sits inside the training model: it takes the network's logits and the ground-truth ab of
the crop (full resolution), builds the targets on the device and returns the loss, which the
training model's `compute_loss` hands to the optimiser (see `training.training_model`). It does
not call `add_loss`: Keras 3 keeps a layer's added losses in one list shared by the replica
threads of a MirroredStrategy, and with 2 replicas the gradients came out wrong (measured; the
test_distributed check catches it). The loss is:

1. ab is subsampled by 4, every 4th pixel from the top-left (the release's data layer);
2. soft-encoded over the 313 bins (10 nearest neighbours, Gaussian sigma 5);
3. each pixel is weighted by the rebalancing weight of its soft target's argmax bin;
4. gray images (|a|, |b| never above 5 after subsampling) get weight 0;
5. loss = sum over pixels and classes of the weighted cross-entropy, divided by the batch size.

The unweighted value is tracked as the metric `unweighted_loss` (same normalisation), and both
also per output pixel, `loss_per_pixel` and `unweighted_loss_per_pixel` (divided by h * w, the
logits' size): the unit of the paper's figures and of the release's ~1.88 nats per output pixel
for the released model on ImageNet.

Example:
>>> import numpy as np
>>> from keras_colorful import bins, losses
>>> layer = losses.RebalancedSoftCrossEntropy(prior=bins.default_prior())
>>> logits = np.zeros((2, 4, 4, 313), "float32")
>>> ab = np.random.default_rng(0).uniform(-60, 60, (2, 16, 16, 2)).astype("float32")
>>> loss = layer(logits, ab)  # a scalar: the weighted loss per image
>>> float(loss) > 0
True
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_colorful import bins, constants, priors


def subsample_ab(ab: tf.Tensor, factor: int = constants.AB_SUBSAMPLE) -> tf.Tensor:
    """Every `factor`-th ab pixel from the top-left, as the release's data layer did."""
    return ab[:, ::factor, ::factor, :]


def soft_cross_entropy(logits: tf.Tensor, bin_indices: tf.Tensor, bin_weights: tf.Tensor):
    """Per-pixel -sum_q t_q log softmax(logits)_q for sparse soft targets, in float32.

    Args:
        logits: [..., Q] logits.
        bin_indices: int32 [..., k], the bins where the target is non-zero.
        bin_weights: float32 [..., k], the target's values there (summing to 1).

    Returns:
        [...] cross-entropy; equal to the dense form, without the [..., Q] target array.
    """
    log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
    picked = tf.gather(log_probs, bin_indices, batch_dims=len(bin_indices.shape) - 1)
    return -tf.reduce_sum(bin_weights * picked, axis=-1)


@keras.saving.register_keras_serializable(package="keras_colorful")
class RebalancedSoftCrossEntropy(keras.layers.Layer):
    """Adds the class-rebalanced soft cross-entropy of (logits, ab) to the model's losses.

    Args:
        prior: (313,) empirical probability of each ab bin (`bins.default_prior()`, the ImageNet
            prior, or one from `scripts/compute_prior.py`). None means the default.
        rebalance_lambda: mixing of the prior with the uniform distribution (paper Eq. 4).
        num_neighbors: bins per pixel in the soft encoding (release: 10).
        sigma: Gaussian width of the soft encoding, in ab units.
        gray_threshold: images whose subsampled |a|, |b| never exceed it get zero weight.
        subsample: ab subsampling factor, the logits' stride relative to the input.

    Call args:
        logits: [N, h, w, 313] network output.
        ab: [N, H, W, 2] ground-truth ab at the crop's resolution, H = subsample * h.

    Returns:
        The weighted loss of the batch (a float32 scalar); the unweighted one is tracked by the
        metric `unweighted_loss`, both per output pixel by `loss_per_pixel` and
        `unweighted_loss_per_pixel`.
    """

    def __init__(
        self,
        prior=None,
        rebalance_lambda: float = constants.REBALANCE_LAMBDA,
        num_neighbors: int = constants.SOFT_ENCODE_NEIGHBORS,
        sigma: float = constants.SOFT_ENCODE_SIGMA,
        gray_threshold: float = constants.GRAY_THRESHOLD,
        subsample: int = constants.AB_SUBSAMPLE,
        **kwargs,
    ):
        super().__init__(**kwargs)
        prior = bins.default_prior() if prior is None else np.asarray(prior, dtype=np.float64)
        if prior.shape != (constants.NUM_BINS,):
            raise ValueError(
                f"prior must have shape ({constants.NUM_BINS},), got {prior.shape}."
            )
        if num_neighbors < 1 or num_neighbors > constants.NUM_BINS:
            raise ValueError(f"num_neighbors must be in [1, 313], got {num_neighbors}.")
        if subsample < 1:
            raise ValueError(f"subsample must be >= 1, got {subsample}.")
        self.prior = prior
        self.rebalance_lambda = float(rebalance_lambda)
        self.num_neighbors = int(num_neighbors)
        self.sigma = float(sigma)
        self.gray_threshold = float(gray_threshold)
        self.subsample = int(subsample)
        self._class_weights = priors.class_weights(prior, self.rebalance_lambda).astype(np.float32)
        self.unweighted_loss_tracker = keras.metrics.Mean(name="unweighted_loss")
        self.loss_per_pixel_tracker = keras.metrics.Mean(name="loss_per_pixel")
        self.unweighted_loss_per_pixel_tracker = keras.metrics.Mean(
            name="unweighted_loss_per_pixel"
        )

    def compute_losses(self, logits, ab):
        """(weighted, unweighted) losses: sums over pixels and classes, divided by the batch."""
        ab = subsample_ab(tf.cast(ab, tf.float32), self.subsample)
        ab = ab[:, : tf.shape(logits)[1], : tf.shape(logits)[2], :]
        bin_indices, bin_weights = bins.soft_encode_sparse(
            ab, num_neighbors=self.num_neighbors, sigma=self.sigma
        )
        cross_entropy = soft_cross_entropy(logits, bin_indices, bin_weights)
        # The bin of the soft target's argmax: the neighbour with the largest weight.
        strongest = tf.argmax(bin_weights, axis=-1, output_type=tf.int32)
        target_bins = tf.gather(bin_indices, strongest, batch_dims=len(bin_indices.shape) - 1)
        pixel_weights = tf.gather(tf.constant(self._class_weights), target_bins)
        image_weights = bins.non_gray_mask(ab, threshold=self.gray_threshold)
        pixel_weights = pixel_weights * image_weights[:, None, None]
        batch_size = tf.cast(tf.shape(logits)[0], tf.float32)
        weighted = tf.reduce_sum(cross_entropy * pixel_weights) / batch_size
        unweighted = tf.reduce_sum(cross_entropy) / batch_size
        return weighted, unweighted

    def call(self, logits, ab):
        weighted, unweighted = self.compute_losses(logits, ab)
        pixels = tf.cast(tf.shape(logits)[1] * tf.shape(logits)[2], tf.float32)
        self.unweighted_loss_tracker.update_state(unweighted)
        self.loss_per_pixel_tracker.update_state(weighted / pixels)
        self.unweighted_loss_per_pixel_tracker.update_state(unweighted / pixels)
        return weighted

    def compute_output_shape(self, logits_shape, ab_shape):
        return ()

    def get_config(self):
        config = super().get_config()
        config.update(
            prior=self.prior.tolist(),
            rebalance_lambda=self.rebalance_lambda,
            num_neighbors=self.num_neighbors,
            sigma=self.sigma,
            gray_threshold=self.gray_threshold,
            subsample=self.subsample,
        )
        return config
