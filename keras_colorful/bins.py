"""The 313 quantised ab bins: centres, soft encoding, decoding and the gray mask.

The bins are the in-gamut cells of a 10-unit grid over ab (paper Sec. 2.1); their centres ship as
package data (`assets/pts_in_hull.npy`, the release's file, sha256-checked on load) and their order
is the order of the network's 313 output channels.

Nearest-bin search (`soft_encode`, `soft_encode_sparse`, `nearest_bin`) is exact, for any
finite ab, and runs on a lookup grid; `keras_colorful.bin_search` is that engine and explains it.
Priors over the bins and the class-rebalancing weights are `keras_colorful.priors`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import io
import math
import numbers

import numpy as np
import tensorflow as tf

from keras_colorful import bin_search, constants

_CENTERS_FILE = "pts_in_hull.npy"
_CENTERS_SHA256 = "b5dec01315c34f43f1c8c089e84c45ae35d1838d8e77ed0e7ca930f79ffa450e"
_PRIOR_FILE = "prior_probs.npy"
_PRIOR_SHA256 = "19d00659c7d6f6ee47456fd2c19c86a073f7124875e3d5ab9d601864e062b56c"


def _load_asset(name: str, sha256: str) -> np.ndarray:
    """Reads a package .npy file after checking its sha256; the result is read-only."""
    resource = importlib.resources.files("keras_colorful") / "assets" / name
    data = resource.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise RuntimeError(
            f"Package data file {resource} is corrupted or replaced: sha256 {digest}, expected "
            f"{sha256}. Reinstall keras-colorful."
        )
    array = np.load(io.BytesIO(data), allow_pickle=False)
    array.flags.writeable = False
    return array


@functools.cache
def ab_bin_centers() -> np.ndarray:
    """The 313 ab bin centres, in the order of the network's output channels.

    Returns:
        A read-only float32 array (313, 2) of (a, b), in the row order of the release's
        pts_in_hull.npy (sorted by a, then b); every value is a multiple of 10.

    Raises:
        RuntimeError: if the packaged file does not have its published sha256.

    Example:
        >>> centers = ab_bin_centers()
        >>> centers.shape, centers.dtype.name, centers[0].tolist()
        ((313, 2), 'float32', [-90.0, 50.0])
    """
    centers = _load_asset(_CENTERS_FILE, _CENTERS_SHA256).astype(np.float32)
    if centers.shape != (constants.NUM_BINS, 2):
        raise RuntimeError(f"{_CENTERS_FILE} has shape {centers.shape}, expected (313, 2).")
    centers.flags.writeable = False
    return centers


@functools.cache
def default_prior() -> np.ndarray:
    """The release's empirical ImageNet prior over the 313 bins, already smoothed (sigma 5).

    Returns:
        A read-only float64 array (313,), all entries > 0, summing to 1 (to 1e-15).

    Raises:
        RuntimeError: if the packaged file does not have its published sha256.

    Example:
        >>> prior = default_prior()
        >>> prior.shape, round(float(prior.max()), 4)
        ((313,), 0.2012)
    """
    prior = _load_asset(_PRIOR_FILE, _PRIOR_SHA256)
    if prior.shape != (constants.NUM_BINS,):
        raise RuntimeError(f"{_PRIOR_FILE} has shape {prior.shape}, expected (313,).")
    return prior


# ----------------------------------------------------------------------------------------------
# Soft encoding and the nearest bin.


@functools.cache
def _search_centers() -> bin_search.BinCenters:
    """`ab_bin_centers()` as the hashable tuple the search engine is keyed on."""
    return tuple((float(a), float(b)) for a, b in ab_bin_centers())


def _check_neighbors_and_sigma(num_neighbors: int, sigma: float) -> None:
    if not 1 <= num_neighbors <= constants.NUM_BINS:
        raise ValueError(f"num_neighbors must be in [1, 313], got {num_neighbors}.")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}.")


def _ab_tensor(ab) -> tf.Tensor:
    ab = tf.convert_to_tensor(ab)
    if ab.shape.rank == 0 or ab.shape[-1] not in (2, None):
        raise ValueError(f"ab must have shape [..., 2], got {ab.shape}.")
    if not ab.dtype.is_floating:
        raise ValueError(f"ab must be a float tensor, got dtype {ab.dtype.name}.")
    return tf.cast(ab, tf.float64)


def soft_encode_sparse(
    ab,
    num_neighbors: int = constants.SOFT_ENCODE_NEIGHBORS,
    sigma: float = constants.SOFT_ENCODE_SIGMA,
) -> tuple[tf.Tensor, tf.Tensor]:
    """The soft-encoding targets in sparse form: the k nearest bins and their weights.

    Same numbers as `soft_encode` without the dense [..., 313] array, e.g. for a cross-entropy
    computed with `tf.gather` on the log-probabilities.

    Args:
        ab: float tensor or array [..., 2] (any batch dimensions, may be unknown).
        num_neighbors: k, the number of nearest bins that share the weight (1..313).
        sigma: standard deviation of the Gaussian kernel, ab units.

    Returns:
        (indices, weights): int32 [..., k] bin indices, in no particular order (ties at the k-th
        distance: one of the tied bins), and float32 [..., k] weights summing to 1.

    Raises:
        ValueError: for a last dimension other than 2, non-float ab, or invalid k or sigma.

    Example:
        >>> indices, weights = soft_encode_sparse([[0.0, 0.0]], num_neighbors=5)
        >>> nearest = int(tf.argmax(weights[0]))
        >>> int(indices[0, nearest]), round(float(weights[0, nearest]), 3)  # bin 120 is (0, 0)
        (120, 0.649)
    """
    num_neighbors = int(num_neighbors)
    _check_neighbors_and_sigma(num_neighbors, float(sigma))
    ab = _ab_tensor(ab)
    batch_shape = tf.shape(ab)[:-1]
    encode = bin_search.sparse_encoder(_search_centers(), num_neighbors)
    indices, weights = encode(tf.reshape(ab, [-1, 2]), float(sigma))
    out_shape = tf.concat([batch_shape, [num_neighbors]], axis=0)
    static_shape = ab.shape[:-1].concatenate([num_neighbors])
    indices = tf.ensure_shape(tf.reshape(indices, out_shape), static_shape)
    weights = tf.ensure_shape(tf.reshape(weights, out_shape), static_shape)
    return indices, weights


def soft_encode(
    ab,
    num_neighbors: int = constants.SOFT_ENCODE_NEIGHBORS,
    sigma: float = constants.SOFT_ENCODE_SIGMA,
) -> tf.Tensor:
    """Soft-encodes ab values over the 313 bins (paper Sec. 2.1).

    Each ab value spreads its mass over its num_neighbors nearest bin centres with weights
    exp(-d^2 / (2 sigma^2)) normalised to sum 1; every other bin gets 0. Exact for any finite ab,
    in gamut or not (for points far from every bin the farther weights may underflow to 0, where
    the release's formula gave 0 / 0). Memory: the [..., 313] output plus [..., ~20] temporaries.
    Works eagerly, in `tf.function` (dynamic batch dimensions, static last dimension), under XLA
    and on a GPU.

    Args:
        ab: float tensor or array [..., 2] (distances are computed in float64).
        num_neighbors: k (release: 10; the paper's text says 5).
        sigma: Gaussian kernel standard deviation in ab units (paper: 5).

    Returns:
        float32 [..., 313] soft targets, rows summing to 1.

    Raises:
        ValueError: for a last dimension other than 2, non-float ab, or invalid k or sigma.

    Example:
        >>> targets = soft_encode([[[0.0, 0.0]]])
        >>> targets.shape, int(tf.math.count_nonzero(targets)), int(tf.argmax(targets[0, 0]))
        (TensorShape([1, 1, 313]), 10, 120)
    """
    num_neighbors = int(num_neighbors)
    _check_neighbors_and_sigma(num_neighbors, float(sigma))
    ab = _ab_tensor(ab)
    encode = bin_search.dense_encoder(_search_centers(), num_neighbors)
    dense = encode(tf.reshape(ab, [-1, 2]), float(sigma))
    out_shape = tf.concat([tf.shape(ab)[:-1], [constants.NUM_BINS]], axis=0)
    return tf.ensure_shape(
        tf.reshape(dense, out_shape), ab.shape[:-1].concatenate([constants.NUM_BINS])
    )


def nearest_bin(ab) -> tf.Tensor:
    """Index of the nearest bin centre of each ab value (exact, any finite ab).

    Args:
        ab: float tensor or array [..., 2].

    Returns:
        int32 [...] bin indices (ties: one of the tied bins).

    Raises:
        ValueError: for a last dimension other than 2 or non-float ab.

    Example:
        >>> nearest_bin([[1.0, 2.0], [300.0, -300.0]]).numpy().tolist()  # (0, 0), (90, -110)
        [120, 284]
    """
    ab = _ab_tensor(ab)
    indices = bin_search.nearest_finder(_search_centers())(tf.reshape(ab, [-1, 2]))
    return tf.ensure_shape(tf.reshape(indices, tf.shape(ab)[:-1]), ab.shape[:-1])


# ----------------------------------------------------------------------------------------------
# Decoding logits to ab, and the gray mask.


def check_temperature(temperature) -> float:
    """An annealed-mean temperature given as a number, checked: finite and > 0, as a float.

    Every place that takes a temperature as a number (not a tensor) checks it here, so they all
    accept and refuse the same values with the same message.

    Args:
        temperature: a real number (int, float or numpy scalar; not a bool).

    Returns:
        `float(temperature)`.

    Raises:
        TypeError: not a real number (a bool, a string, a tensor, None, ...).
        ValueError: <= 0, NaN or infinite.

    Example:
        >>> check_temperature(1)
        1.0
        >>> check_temperature(0.0)
        Traceback (most recent call last):
        ...
        ValueError: temperature must be finite and > 0, got 0.0.
    """
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise TypeError(
            f"temperature must be a real number, got {temperature!r} "
            f"({type(temperature).__name__})."
        )
    value = float(temperature)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"temperature must be finite and > 0, got {temperature!r}.")
    return value


def annealed_mean(logits, temperature=constants.ANNEALED_MEAN_TEMPERATURE) -> tf.Tensor:
    """Annealed-mean decoding (paper Eq. 5): ab = sum_q softmax(logits / T)_q * centre_q.

    T = 1 is the mean, T -> 0 the mode; stable down to T = 0.01 and below (the softmax subtracts
    the maximum). Computed in float32 whatever the logits' dtype (float16 / bfloat16 from mixed
    precision included); the result is float32.

    Args:
        logits: tensor [..., 313].
        temperature: T > 0, a number (checked by `check_temperature`) or a tensor that
            broadcasts against the logits (not range-checked).

    Returns:
        float32 [..., 2] ab.

    Raises:
        ValueError: for a last dimension other than 313, or a number temperature that is <= 0,
            NaN or infinite.

    Example:
        >>> logits = tf.one_hot([120], 313) * 10.0  # bin 120 is (0, 0)
        >>> annealed_mean(logits, 0.01).numpy().round(3).tolist()
        [[0.0, 0.0]]
    """
    logits = _logits_tensor(logits)
    if isinstance(temperature, numbers.Number):
        temperature = check_temperature(temperature)
    temperature = tf.cast(temperature, tf.float32)
    probabilities = tf.nn.softmax(logits / temperature, axis=-1)
    flat = tf.reshape(probabilities, [-1, constants.NUM_BINS])
    ab = tf.matmul(flat, tf.constant(ab_bin_centers()))
    out_shape = tf.concat([tf.shape(logits)[:-1], [2]], axis=0)
    return tf.ensure_shape(tf.reshape(ab, out_shape), logits.shape[:-1].concatenate([2]))


def mode(logits) -> tf.Tensor:
    """The centre of the most probable bin (the annealed mean's T -> 0 limit).

    Args:
        logits: tensor [..., 313].

    Returns:
        float32 [..., 2] ab.

    Example:
        >>> mode(tf.one_hot([0, 120], 313)).numpy().tolist()
        [[-90.0, 50.0], [0.0, 0.0]]
    """
    logits = _logits_tensor(logits)
    best = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return tf.gather(tf.constant(ab_bin_centers()), best)


def _logits_tensor(logits) -> tf.Tensor:
    logits = tf.convert_to_tensor(logits)
    if logits.shape.rank == 0 or logits.shape[-1] not in (constants.NUM_BINS, None):
        raise ValueError(f"logits must have shape [..., 313], got {logits.shape}.")
    return tf.cast(logits, tf.float32)


def is_gray(ab, threshold: float = constants.GRAY_THRESHOLD) -> tf.Tensor:
    """Whether each image is gray: no |a| or |b| above the threshold (release's NonGrayMask).

    The release's layer marked an image non-gray iff any |value| > 5 over its (subsampled) ab;
    so gray means max |a|, |b| <= threshold.

    Args:
        ab: float tensor [N, ...(e.g. H, W), 2].
        threshold: gray threshold in ab units (release: 5).

    Returns:
        bool [N].

    Example:
        >>> is_gray(tf.constant([[[[5.0, -5.0]]], [[[0.0, 5.5]]]])).numpy().tolist()
        [True, False]
    """
    ab = tf.convert_to_tensor(ab)
    if ab.shape.rank is not None and ab.shape.rank < 2:
        raise ValueError(f"ab must have shape [N, ..., 2], got {ab.shape}.")
    largest = tf.reduce_max(tf.abs(ab), axis=tf.range(1, tf.rank(ab)))
    return largest <= tf.cast(threshold, largest.dtype)


def non_gray_mask(ab, threshold: float = constants.GRAY_THRESHOLD) -> tf.Tensor:
    """1.0 for images with colour, 0.0 for gray ones (see `is_gray`): the loss's image weight.

    Args:
        ab: float tensor [N, ..., 2].
        threshold: gray threshold in ab units (release: 5).

    Returns:
        float32 [N].

    Example:
        >>> non_gray_mask(tf.constant([[[[1.0, 2.0]]], [[[10.0, 0.0]]]])).numpy().tolist()
        [0.0, 1.0]
    """
    return tf.cast(tf.logical_not(is_gray(ab, threshold)), tf.float32)
