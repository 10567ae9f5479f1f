"""The paper's colour metrics (Sec. 3.1, Table 1), in numpy, on ab in Lab units.

- `auc_curve(ab_pred, ab_true)`: for each threshold t = 0, 1, ..., 150, the fraction of pixels
  whose ab error (Euclidean distance in the ab plane) is <= t; AuC is the area under that curve
  normalised to 100%, i.e. 100 x the mean of the 151 fractions (a perfect prediction scores 100,
  errors all equal to 7 score (151 - 7) / 151 x 100).
- `rebalanced_pixel_weights(ab_true, prior)`: the rebalanced AuC weights each pixel inversely to
  the prior probability of its true colour's bin (the paper's lambda = 0).
- `psnr(rgb_pred, rgb_true)`: of uint8 RGB images.
- `ErrorCurve`: the same curve accumulated over many images.

`evaluation` runs them on a folder of photos.

Example:

>>> import numpy as np
>>> ab_true = np.zeros((4, 4, 2))
>>> fractions, auc = auc_curve(ab_true + [7.0, 0.0], ab_true)
>>> float(fractions[6]), float(fractions[7]), round(auc, 3)
(0.0, 1.0, 95.364)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from keras_colorful import bins, constants

# The paper's AuC thresholds: t = 0, 1, ..., 150 ab units (Sec. 3.1).
AUC_MAX_THRESHOLD = 150
AUC_THRESHOLDS = tuple(range(AUC_MAX_THRESHOLD + 1))
# Peak value of uint8 images, for PSNR.
PSNR_PEAK = 255.0


def check_ab(ab, name: str) -> np.ndarray:
    ab = np.asarray(ab, dtype=np.float64)
    if ab.ndim == 0 or ab.shape[-1] != 2:
        raise ValueError(f"{name} must have shape [..., 2], got {ab.shape}.")
    if not np.all(np.isfinite(ab)):
        raise ValueError(f"{name} has NaN or infinite values.")
    return ab


class ErrorCurve:
    """The weighted fraction of pixels with ab error <= t, for fixed thresholds t, over many images.

    Args:
        thresholds: non-decreasing finite thresholds in ab units (default t = 0, 1, ..., 150).

    Example:

    >>> curve = ErrorCurve(thresholds=[0, 5, 10])
    >>> curve.add([1.0, 6.0]); curve.add([20.0])
    >>> curve.fractions().round(3).tolist(), round(curve.auc(), 2)
    ([0.0, 0.333, 0.667], 33.33)
    """

    def __init__(self, thresholds: Sequence[float] = AUC_THRESHOLDS):
        thresholds = np.asarray(thresholds, dtype=np.float64)
        if thresholds.ndim != 1 or thresholds.size == 0 or not np.all(np.isfinite(thresholds)):
            raise ValueError(f"thresholds must be a non-empty 1-D list of numbers: {thresholds}.")
        if np.any(np.diff(thresholds) < 0):
            raise ValueError("thresholds must be non-decreasing.")
        self.thresholds = thresholds
        # _weights[i]: weight of the errors e with thresholds[i - 1] < e <= thresholds[i]
        # (the last entry: errors above every threshold).
        self._weights = np.zeros(thresholds.size + 1, np.float64)

    @property
    def total_weight(self) -> float:
        return float(self._weights.sum())

    def add(self, errors, weights=None) -> None:
        """Adds pixels: their ab errors (>= 0) and optional non-negative weights (same shape)."""
        errors = np.asarray(errors, dtype=np.float64)
        if not np.all(np.isfinite(errors)) or np.any(errors < 0):
            raise ValueError("errors must be finite and >= 0.")
        if weights is None:
            weights = np.ones_like(errors)
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != errors.shape:
            raise ValueError(f"weights have shape {weights.shape}, errors {errors.shape}.")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("weights must be finite and >= 0.")
        # The number of thresholds below each error: the error counts from that threshold on.
        index = np.searchsorted(self.thresholds, errors.ravel(), side="left")
        self._weights += np.bincount(index, weights=weights.ravel(), minlength=self._weights.size)

    def merge(self, other: ErrorCurve) -> None:
        """Adds the pixels of `other`, a curve with the same thresholds."""
        if not np.array_equal(self.thresholds, other.thresholds):
            raise ValueError("Only curves with the same thresholds can be merged.")
        self._weights += other._weights

    def fractions(self) -> np.ndarray:
        """float64 [num_thresholds]: the weighted fraction of pixels with error <= each one."""
        total = self.total_weight
        if not total > 0:
            raise ValueError("The curve has no pixels (or only zero weights).")
        return np.cumsum(self._weights)[:-1] / total

    def auc(self) -> float:
        """Area under the curve in percent: 100 x the mean fraction over the thresholds."""
        return float(100.0 * np.mean(self.fractions()))


def auc_curve(
    ab_pred, ab_true, thresholds: Sequence[float] = AUC_THRESHOLDS, weights=None
) -> tuple[np.ndarray, float]:
    """The cumulative fraction of pixels with ab error <= t, and its area (paper's AuC).

    Args:
        ab_pred: predicted ab `[..., 2]`.
        ab_true: true ab, same shape.
        thresholds: non-decreasing thresholds in ab units (paper: 0, 1, ..., 150).
        weights: optional non-negative per-pixel weights, shape `ab_true.shape[:-1]` (e.g.
            `rebalanced_pixel_weights`); only their ratios matter.

    Returns:
        (fractions, auc_percent): float64 [num_thresholds], and 100 x their mean.

    Raises:
        ValueError: mismatched shapes, non-finite values, negative or all-zero weights.

    Example:

    >>> errors_0_and_200 = np.array([[0.0, 0.0], [200.0, 0.0]])
    >>> auc_curve(errors_0_and_200, np.zeros((2, 2)), weights=[3.0, 1.0])[1]
    75.0
    """
    ab_pred, ab_true = check_ab(ab_pred, "ab_pred"), check_ab(ab_true, "ab_true")
    if ab_pred.shape != ab_true.shape:
        raise ValueError(f"ab_pred has shape {ab_pred.shape}, ab_true {ab_true.shape}.")
    curve = ErrorCurve(thresholds)
    curve.add(np.linalg.norm(ab_pred - ab_true, axis=-1), weights)
    return curve.fractions(), curve.auc()


def rebalanced_pixel_weights(ab_true, prior=None) -> np.ndarray:
    """Per-pixel weights of the rebalanced AuC: inversely proportional to the true colour's prior.

    Each pixel gets w = 1 / (Q p_q), p_q the prior of the bin nearest to its true ab and Q the
    number of bins with p > 0 (the paper's class weights with lambda = 0), so that the weights
    average 1 over pixels distributed like the prior; the AuC only depends on their ratios. A
    bin whose prior is 0 (possible with a custom prior) gets the weight of the rarest bin with
    p > 0 instead of an infinite one.

    Args:
        ab_true: true ab `[..., 2]`.
        prior: (313,) bin probabilities (or counts); default the ImageNet prior
            (`bins.default_prior()`), as the paper.

    Returns:
        float64 weights of shape `ab_true.shape[:-1]`.

    Raises:
        ValueError: a wrongly shaped, negative, non-finite or all-zero prior, or bad ab.

    Example:

    >>> weights = rebalanced_pixel_weights(np.array([[0.0, 0.0], [80.0, 60.0]]))
    >>> bool(weights[1] > 100 * weights[0])
    True
    """
    ab_true = check_ab(ab_true, "ab_true")
    prior = bins.default_prior() if prior is None else np.asarray(prior, dtype=np.float64)
    if prior.shape != (constants.NUM_BINS,):
        raise ValueError(f"prior must have shape (313,), got {prior.shape}.")
    if not np.all(np.isfinite(prior)) or np.any(prior < 0) or not prior.sum() > 0:
        raise ValueError("prior must be finite, non-negative and not all zero.")
    prior = prior / prior.sum()
    positive = prior > 0
    class_weights = 1.0 / (np.count_nonzero(positive) * np.maximum(prior, prior[positive].min()))
    if ab_true.size == 0:
        return np.zeros(ab_true.shape[:-1], np.float64)
    return class_weights[bins.nearest_bin(ab_true).numpy()]


def psnr(rgb_pred, rgb_true, peak: float = PSNR_PEAK) -> float:
    """Peak signal-to-noise ratio in dB: 10 log10(peak^2 / MSE) over every pixel and channel.

    Args:
        rgb_pred: predicted image(s), uint8 (or numbers in [0, peak]).
        rgb_true: true image(s), same shape.
        peak: the largest possible value (255 for uint8).

    Returns:
        PSNR in dB (inf for identical images).

    Raises:
        ValueError: mismatched or empty shapes.

    Example:

    >>> true = np.full((2, 2, 3), 100, "uint8")
    >>> round(psnr(true + 10, true), 4)  # MSE 100
    28.1308
    """
    rgb_pred = np.asarray(rgb_pred, dtype=np.float64)
    rgb_true = np.asarray(rgb_true, dtype=np.float64)
    if rgb_pred.shape != rgb_true.shape or rgb_true.size == 0:
        raise ValueError(f"rgb_pred has shape {rgb_pred.shape}, rgb_true {rgb_true.shape}.")
    return psnr_from_mse(float(np.mean((rgb_pred - rgb_true) ** 2)), peak)


def psnr_from_mse(mse: float, peak: float = PSNR_PEAK) -> float:
    return math.inf if mse == 0 else 10.0 * math.log10(peak**2 / mse)
