"""sRGB to CIE Lab (D65) in PyTorch, with the formulas of `keras_colorful.color.rgb_to_lab`.

scikit-image's `rgb2lab`: sRGB companding, the sRGB primaries matrix and the D65 white of
`keras_colorful.constants`, and the CIE 0.008856 / 7.787 linear segment.

Example:

>>> import torch
>>> red = torch.tensor([1.0, 0.0, 0.0]).reshape(1, 3, 1, 1)
>>> [round(float(v), 1) for v in rgb_to_lab(red)[0, :, 0, 0]]
[53.2, 80.1, 67.2]
"""

from __future__ import annotations

import torch

from keras_colorful import constants

# sRGB companding: linear segment below this (IEC 61966-2-1).
_SRGB_THRESHOLD = 0.04045
# CIE Lab: f(t) = t^(1/3) above 0.008856, else 7.787 t + 16/116 (the constants scikit-image uses).
_LAB_EPSILON = 0.008856
_LAB_KAPPA = 7.787
_LAB_OFFSET = 16.0 / 116.0


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] `[N, 3, H, W]` (channels first) to CIE Lab `[N, 3, H, W]`, L in [0, 100].

    Computed in the input's dtype and on its device.
    """
    linear = torch.where(rgb > _SRGB_THRESHOLD, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    matrix = torch.tensor(constants.SRGB_TO_XYZ, dtype=rgb.dtype, device=rgb.device)
    white = torch.tensor(constants.D65_WHITE, dtype=rgb.dtype, device=rgb.device)
    xyz = torch.einsum("ij,njhw->nihw", matrix, linear) / white[None, :, None, None]
    f = torch.where(xyz > _LAB_EPSILON, xyz.clamp_min(1e-12) ** (1.0 / 3.0),
                    _LAB_KAPPA * xyz + _LAB_OFFSET)
    fx, fy, fz = f[:, 0], f[:, 1], f[:, 2]
    return torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=1)
