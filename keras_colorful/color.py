"""sRGB <-> CIE Lab (D65 white, 2-degree observer) as TensorFlow ops, exactly as scikit-image.

The formulas and constants are those of `skimage.color.rgb2lab` / `lab2rgb` (sRGB companding,
the sRGB primaries matrix, the D65 white (0.95047, 1, 1.08883), the CIE 0.008856 / 7.787 linear
segment). Each direction is two element-wise companding steps around one 3x3 matrix product; the
white point and the Lab scaling are folded into the matrices. Piecewise functions select between
their two branches with the power taken of an argument clamped into its own branch, so no
fractional power of a negative number is ever evaluated (no NaN, in values or in gradients).

Speed: powers are written exp(p log x), which TensorFlow's CPU kernels vectorise and `tf.pow`'s
do not, and the selection uses the non-broadcasting `Select` op, which is cheaper than
`tf.where`'s broadcasting `SelectV2` on equal shapes (`benchmarks/bench_foundation.py`).

Works on any shape `[..., 3]`, eagerly, inside `tf.function`, inside `tf.data.Dataset.map`, under
XLA and on a GPU.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_colorful import constants

# sRGB primaries to XYZ, and the D65 white (float64; `constants` says where they come from).
_XYZ_FROM_RGB = np.array(constants.SRGB_TO_XYZ, dtype=np.float64)
_RGB_FROM_XYZ = np.linalg.inv(_XYZ_FROM_RGB)
_D65_WHITE = np.array(constants.D65_WHITE, dtype=np.float64)

# sRGB companding: linear segment below these thresholds (IEC 61966-2-1).
_SRGB_THRESHOLD = 0.04045
_LINEAR_THRESHOLD = 0.0031308
# CIE Lab: f(t) = t^(1/3) above (6/29)^3, else 7.787 t + 16/116 (the constants scikit-image uses).
_LAB_EPSILON = 0.008856
_LAB_KAPPA = 7.787
_LAB_OFFSET = 16.0 / 116.0
_LAB_F_THRESHOLD = 0.2068966  # f(_LAB_EPSILON), the inverse's switch point.

# Lab = f(xyz / white) @ _LAB_FROM_F + (-16, 0, 0): L = 116 fy - 16, a = 500 (fx - fy),
# b = 200 (fy - fz).
_LAB_FROM_F = np.array([[0.0, 500.0, 0.0], [116.0, -500.0, 200.0], [0.0, 0.0, -200.0]])
_F_FROM_LAB = np.linalg.inv(_LAB_FROM_F)  # fy = (L + 16) / 116, fx = fy + a / 500, ...
_L_OFFSET = np.array([16.0, 0.0, 0.0])

# Row-vector matrices: linear RGB -> XYZ / white, and f(xyz) scaled back by the white -> linear RGB.
_XYZN_FROM_LINEAR_RGB = _XYZ_FROM_RGB.T / _D65_WHITE
_LINEAR_RGB_FROM_XYZN = _D65_WHITE[:, None] * _RGB_FROM_XYZ.T

# `lab_to_rgb` clamps |L|, |a|, |b| here first, so that even infinite input gives finite cubes.
_LAB_LIMIT = 1e6


def _float_input(tensor, name: str) -> tuple[tf.Tensor, tf.DType]:
    """The tensor in its computation dtype (float32 or float64), and the dtype to return."""
    tensor = tf.convert_to_tensor(tensor)
    rank = tensor.shape.rank
    if rank is not None and (rank == 0 or tensor.shape[-1] not in (3, None)):
        raise ValueError(f"{name} must have shape [..., 3], got {tensor.shape}.")
    dtype = tensor.dtype
    if dtype in (tf.float32, tf.float64):
        return tensor, dtype
    if dtype in (tf.float16, tf.bfloat16):
        return tf.cast(tensor, tf.float32), dtype
    raise ValueError(f"{name} must be a float tensor, got dtype {dtype.name}.")


def _power(base: tf.Tensor, exponent: float) -> tf.Tensor:
    """base ** exponent for positive base, as exp(exponent * log(base))."""
    return tf.exp(tf.math.log(base) * exponent)


def _select(condition: tf.Tensor, if_true: tf.Tensor, if_false: tf.Tensor) -> tf.Tensor:
    """Element-wise choice between three tensors of one shape (`tf.where` without broadcasting)."""
    return tf.raw_ops.Select(condition=condition, x=if_true, y=if_false)


def _apply_matrix(tensor: tf.Tensor, matrix: np.ndarray) -> tf.Tensor:
    """tensor [..., 3] @ matrix (3, 3), as one matmul over the flattened pixels."""
    flat = tf.reshape(tensor, [-1, 3])
    product = tf.matmul(flat, tf.constant(matrix, tensor.dtype))
    return tf.reshape(product, tf.shape(tensor))


def lab_f(t: tf.Tensor) -> tf.Tensor:
    """CIE Lab's f of XYZ relative to the white (float tensor): the cube root, linear near 0.

    L = 116 f(Y) - 16, so L of a luminance Y is `116 * lab_f(Y) - 16`.

    >>> round(float(116 * lab_f(tf.constant(1.0)) - 16), 4)
    100.0
    """
    return _select(
        t > _LAB_EPSILON,
        _power(tf.maximum(t, _LAB_EPSILON), 1.0 / 3.0),
        t * _LAB_KAPPA + _LAB_OFFSET,
    )


def rgb_to_lab(rgb) -> tf.Tensor:
    """Converts sRGB to CIE Lab (D65), like `skimage.color.rgb2lab`.

    Args:
        rgb: tensor or array [..., 3]: float RGB in [0, 1], or uint8 in [0, 255] (divided by 255).
            Values outside [0, 1] are converted by the same formulas, as scikit-image does.

    Returns:
        Lab [..., 3] with L in [0, 100] and a, b roughly in [-110, 110]; float32 and float64 keep
        their dtype, uint8 gives float32, float16 / bfloat16 are computed in float32 and cast back.

    Raises:
        ValueError: if the last dimension is not 3 or the dtype is neither float nor uint8.

    Example:
        >>> import numpy as np
        >>> np.round(rgb_to_lab(np.array([[1.0, 0.0, 0.0]], np.float32)).numpy(), 2)
        array([[53.24, 80.09, 67.2 ]], dtype=float32)
        >>> np.round(rgb_to_lab(np.array([[0, 0, 0], [255, 255, 255]], np.uint8)).numpy(), 2) + 0
        array([[  0.,   0.,   0.],
               [100.,   0.,   0.]], dtype=float32)
    """
    rgb = tf.convert_to_tensor(rgb)
    if rgb.dtype == tf.uint8:
        rgb = tf.cast(rgb, tf.float32) / 255.0
    rgb, out_dtype = _float_input(rgb, "rgb")
    # sRGB -> linear RGB.
    linear = _select(
        rgb > _SRGB_THRESHOLD,
        _power((tf.maximum(rgb, _SRGB_THRESHOLD) + 0.055) * (1.0 / 1.055), 2.4),
        rgb * (1.0 / 12.92),
    )
    # Linear RGB -> XYZ relative to the white -> f -> Lab.
    xyz = _apply_matrix(linear, _XYZN_FROM_LINEAR_RGB)
    f = lab_f(xyz)
    lab = _apply_matrix(f, _LAB_FROM_F) - tf.constant(_L_OFFSET, f.dtype)
    return tf.cast(lab, out_dtype)


def lab_to_rgb(lab) -> tf.Tensor:
    """Converts CIE Lab (D65) to sRGB clipped to [0, 1], like `skimage.color.lab2rgb`.

    Out-of-gamut colours are handled as scikit-image does: a negative Z (from large positive b)
    is set to 0, then the RGB result is clipped to [0, 1]. The result is never NaN, not even for
    infinite input (NaN input gives NaN).

    Args:
        lab: float tensor or array [..., 3], L in [0, 100].

    Returns:
        RGB [..., 3] in [0, 1], in the input's dtype (float16 / bfloat16 computed in float32).

    Raises:
        ValueError: if the last dimension is not 3 or the dtype is not float.

    Example:
        >>> import numpy as np
        >>> np.round(lab_to_rgb(np.array([[53.24, 80.09, 67.2]], np.float32)).numpy(), 3)
        array([[1., 0., 0.]], dtype=float32)
    """
    lab, out_dtype = _float_input(lab, "lab")
    lab = tf.clip_by_value(lab, -_LAB_LIMIT, _LAB_LIMIT)
    f = _apply_matrix(lab + tf.constant(_L_OFFSET, lab.dtype), _F_FROM_LAB)
    # scikit-image clips Z (the third f) at 0 before inverting f; X and Y are not clipped.
    f = tf.maximum(f, tf.constant([-np.inf, -np.inf, 0.0], f.dtype))
    xyz = _select(f > _LAB_F_THRESHOLD, f * f * f, (f - _LAB_OFFSET) * (1.0 / _LAB_KAPPA))
    linear = _apply_matrix(xyz, _LINEAR_RGB_FROM_XYZN)
    rgb = _select(
        linear > _LINEAR_THRESHOLD,
        1.055 * _power(tf.maximum(linear, _LINEAR_THRESHOLD), 1.0 / 2.4) - 0.055,
        linear * 12.92,
    )
    return tf.cast(tf.clip_by_value(rgb, 0.0, 1.0), out_dtype)
