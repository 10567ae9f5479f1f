"""Priors over the 313 ab bins and the class-rebalancing weights (paper Sec. 2.1, Eq. 3-4).

Plain numpy, computed once outside the training graph: `class_weights` turns a prior (the
ImageNet one, `bins.default_prior()`, or one measured on your photos with `bin_histogram` and
`smooth_prior`, see `scripts/compute_prior.py`) into the per-bin weights of the loss.

Example:
    >>> from keras_colorful import bins
    >>> weights = class_weights(bins.default_prior())
    >>> weights.shape
    (313,)
"""

from __future__ import annotations

import numpy as np

from keras_colorful import bins, constants


def _check_histogram(histogram, name: str) -> np.ndarray:
    histogram = np.asarray(histogram, dtype=np.float64)
    if histogram.shape != (constants.NUM_BINS,):
        raise ValueError(f"{name} must have shape (313,), got {histogram.shape}.")
    if not np.all(np.isfinite(histogram)) or np.any(histogram < 0):
        raise ValueError(f"{name} must be finite and non-negative.")
    total = histogram.sum()
    if not total > 0:
        raise ValueError(f"{name} must have a positive sum.")
    return histogram / total


def class_weights(prior, rebalance_lambda: float = constants.REBALANCE_LAMBDA) -> np.ndarray:
    """Class-rebalancing weights (paper Eq. 4): w = ((1 - lambda) p + lambda / Q)^-1, E_p[w] = 1.

    Q is the number of bins with p > 0 (313 for the ImageNet prior); p is normalised to sum 1.

    Args:
        prior: (313,) non-negative bin probabilities (or counts).
        rebalance_lambda: mixing weight of the uniform distribution, in [0, 1] (paper: 0.5).

    Returns:
        float32 (313,) weights with sum_q p_q w_q = 1.

    Raises:
        ValueError: for a wrongly shaped, negative, non-finite or all-zero prior, lambda outside
            [0, 1], or lambda = 0 with a zero prior entry (its weight would be infinite).

    Example:
        >>> weights = class_weights(bins.default_prior())
        >>> round(float(weights.max() / weights.min()), 1)
        64.0
    """
    p = _check_histogram(prior, "prior")
    if not 0.0 <= rebalance_lambda <= 1.0:
        raise ValueError(f"rebalance_lambda must be in [0, 1], got {rebalance_lambda}.")
    mixture = (1.0 - rebalance_lambda) * p + rebalance_lambda / np.count_nonzero(p)
    if np.any(mixture == 0):
        raise ValueError("rebalance_lambda = 0 needs a prior without zero entries.")
    weights = 1.0 / mixture
    weights /= np.sum(p * weights)
    return weights.astype(np.float32)


def smooth_prior(histogram, sigma: float = constants.PRIOR_SMOOTHING_SIGMA) -> np.ndarray:
    """Smooths a histogram over the 313 bins with a Gaussian in ab space, normalised to sum 1.

    Computed exactly on the bins: s_q = sum_r h_r exp(-|c_q - c_r|^2 / (2 sigma^2)), then s is
    divided by its sum. This equals the release's recipe (a Gaussian filter over the 2-D ab grid
    of 10-unit cells, out-of-gamut cells holding 0, then restricted to the 313 bins and
    renormalised) without the filter's truncation and border effects.

    Args:
        histogram: (313,) non-negative counts or probabilities.
        sigma: standard deviation in ab units (release: 5); 0 only normalises.

    Returns:
        float64 (313,) probabilities summing to 1.

    Raises:
        ValueError: for a wrongly shaped, negative, non-finite or all-zero histogram or a
            negative sigma.

    Example:
        >>> spike = np.zeros(313); spike[120] = 1.0
        >>> smoothed = smooth_prior(spike)
        >>> int(smoothed.argmax()), round(float(smoothed[120]), 3)
        (120, 0.619)
    """
    p = _check_histogram(histogram, "histogram")
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}.")
    if sigma == 0:
        return p
    centers = bins.ab_bin_centers().astype(np.float64)
    squared = ((centers[:, None, :] - centers[None, :, :]) ** 2).sum(axis=-1)
    smoothed = np.exp(-squared / (2.0 * sigma**2)) @ p
    return smoothed / smoothed.sum()


def bin_histogram(ab_pixels, chunk_size: int = 1 << 20) -> tuple[np.ndarray, int]:
    """Counts ab pixels per nearest bin; also counts those outside the 313 bins' cells.

    A pixel is out of gamut when its nearest bin centre is more than half a grid cell (5) away in
    a or in b, i.e. its own 10x10 cell is not one of the 313; it still counts for its nearest bin.

    Args:
        ab_pixels: float array or tensor [..., 2].
        chunk_size: pixels per nearest-bin call (bounds the memory).

    Returns:
        (counts, num_out_of_gamut): float64 (313,) counts and an int.

    Example:
        >>> counts, outside = bin_histogram(np.array([[0.0, 0.0], [1.0, 2.0], [100.0, -110.0]]))
        >>> float(counts[120]), float(counts.sum()), outside
        (2.0, 3.0, 1)
    """
    flat = np.asarray(ab_pixels, dtype=np.float32).reshape(-1, 2)
    centers = bins.ab_bin_centers()
    counts = np.zeros(constants.NUM_BINS, np.float64)
    num_out_of_gamut = 0
    for start in range(0, len(flat), chunk_size):
        chunk = flat[start : start + chunk_size]
        indices = bins.nearest_bin(chunk).numpy()
        counts += np.bincount(indices, minlength=constants.NUM_BINS)
        offsets = np.abs(chunk - centers[indices])
        num_out_of_gamut += int(np.count_nonzero(offsets.max(axis=1) > constants.BIN_GRID_SIZE / 2))
    return counts, num_out_of_gamut


def empirical_prior(ab_pixels, sigma: float = constants.PRIOR_SMOOTHING_SIGMA) -> np.ndarray:
    """The smoothed empirical distribution of ab pixels over the 313 bins (paper Sec. 2.1).

    Each pixel counts for its nearest bin (also when outside the 313 bins' cells), then the
    histogram goes through `smooth_prior`.

    Args:
        ab_pixels: float array or tensor [..., 2] with at least one pixel.
        sigma: smoothing standard deviation in ab units (0: none).

    Returns:
        float64 (313,) probabilities summing to 1.

    Raises:
        ValueError: if there are no pixels.

    Example:
        >>> prior = empirical_prior(np.zeros((4, 4, 2)), sigma=0.0)
        >>> int(prior.argmax()), float(prior.max())
        (120, 1.0)
    """
    counts, _ = bin_histogram(ab_pixels)
    if counts.sum() == 0:
        raise ValueError("empirical_prior needs at least one pixel.")
    return smooth_prior(counts, sigma)
