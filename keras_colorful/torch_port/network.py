"""The colorization network in PyTorch, for every preset of `keras_colorful.presets`.

The same architecture as `keras_colorful.models.ColorizationNet`: L in [0, 100] `[N, 1, H, W]`
(channels first, PyTorch's default layout, as the authors' port runs it) to 313 logits
`[N, 313, H / 4, W / 4]`. Blocks 1-7: 3x3 convs with ReLU, the last conv of blocks 1-3 with
stride 2, dilation 2 in blocks 5-6, BatchNorm after the last ReLU; block 8: a k4 s2 transposed
conv (padding 1), 3x3 convs, and the 1x1 conv to the logits. For "eccv16" the layers, module
names and parameter count are those of the release's `ECCVGenerator` without its fixed
313 -> 2 `model_out` conv (626 weights), i.e. 32,235,385 parameters, so its state dict is the
release's minus `model_out`.

Example:

>>> import torch
>>> net = build_torch_model("tiny").eval()
>>> tuple(net(torch.full((1, 1, 32, 48), 50.0)).shape)
(1, 313, 8, 12)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from keras_colorful import constants, presets

_STRIDE2_BLOCKS = (1, 2, 3)
_DILATED_BLOCKS = (5, 6)


class ColorizationNetTorch(nn.Module):
    """L in [0, 100] `[N, 1, H, W]` to logits `[N, num_bins, H / 4, W / 4]`, as in Keras.

    Args:
        block_widths: output channels of the 8 blocks.
        block_depths: convs per block (block 8 counts its transposed conv, not the 1x1 logits).
        bins: number of logits per pixel.
    """

    def __init__(self, block_widths: Sequence[int], block_depths: Sequence[int], bins: int):
        super().__init__()
        if len(block_widths) != 8 or len(block_depths) != 8:
            raise ValueError(f"8 widths and depths needed, got {block_widths}, {block_depths}.")
        channels = 1
        for block in range(1, 8):
            width, depth = block_widths[block - 1], block_depths[block - 1]
            dilation = 2 if block in _DILATED_BLOCKS else 1
            layers = []
            for i in range(depth):
                stride = 2 if block in _STRIDE2_BLOCKS and i == depth - 1 else 1
                padding = 1 if stride == 2 else dilation
                layers += [
                    nn.Conv2d(channels, width, 3, stride, padding, dilation=dilation),
                    nn.ReLU(inplace=True),
                ]
                channels = width
            layers.append(nn.BatchNorm2d(width))
            setattr(self, f"model{block}", nn.Sequential(*layers))
        width = block_widths[7]
        layers = [nn.ConvTranspose2d(channels, width, 4, stride=2, padding=1), nn.ReLU(True)]
        for _ in range(1, block_depths[7]):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(True)]
        layers.append(nn.Conv2d(width, bins, 1))
        self.model8 = nn.Sequential(*layers)

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        x = (lightness - constants.L_CENTER) / constants.L_SCALE
        for block in range(1, 9):
            x = getattr(self, f"model{block}")(x)
        return x


def build_torch_model(preset: str = "eccv16", seed: int = 0) -> ColorizationNetTorch:
    """The PyTorch network of a preset, PyTorch's default (seeded) random initialisation.

    Args:
        preset: a name of `keras_colorful.presets.PRESETS`.
        seed: `torch.manual_seed` before the layers are built.

    Raises:
        ValueError: unknown preset.
    """
    if preset not in presets.PRESETS:
        raise ValueError(f"Unknown preset {preset!r}; choose from {sorted(presets.PRESETS)}.")
    torch.manual_seed(seed)
    config = presets.PRESETS[preset]
    return ColorizationNetTorch(config["block_widths"], config["block_depths"], constants.NUM_BINS)


def parameter_count(module: nn.Module) -> int:
    """Number of trainable parameters (BatchNorm running statistics excluded)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
