"""The authors' released ECCV16 network in PyTorch: the tests' independent oracle of the release.

`ECCVGenerator` is written down from the release (`colorizers/eccv16.py` of
richzhang/colorization), deliberately NOT built from the package's presets or from
`keras_colorful.torch_port`: it checks the weight conversion, and
`tests/test_train_torch.py` checks that `torch_port.network.build_torch_model("eccv16")` has its
state-dict keys and shapes (less `model_out`). It has the release's module names and state-dict
layout (model1..model8 as `nn.Sequential` with convs at even indices and BatchNorm2d last in
blocks 1-7, `model_out` the fixed 313 -> 2 bin-centre 1x1 conv), so its `state_dict()` has the
keys and shapes of `colorization_release_v2-9b330a0b.pth`. `randomize_` gives it random weights
and random BatchNorm running statistics at sane scales, for conversion tests without the real
file.

The suite's other oracle of the network is the float64 numpy forward pass of
`tests/test_models.py` (`_reference_forward`), which runs any preset with a Keras net's weights;
this one fixes the release's layout and its decode (`model_out`, softmax, x4 upsampling).

A test helper, not part of the package (it needs torch).
"""

import pathlib

import numpy as np
import torch
from torch import nn

_ASSETS = pathlib.Path(__file__).resolve().parents[1] / "keras_colorful" / "assets"
# (out channels, convs, stride of the last conv, dilation) of blocks 1-7, as in the release.
_BLOCKS = (
    (64, 2, 2, 1),
    (128, 2, 2, 1),
    (256, 3, 2, 1),
    (512, 3, 1, 1),
    (512, 3, 1, 2),
    (512, 3, 1, 2),
    (512, 3, 1, 1),
)
_AB_SCALE = 110.0


def bin_centers() -> np.ndarray:
    """The 313 (a, b) bin centres, read straight from the packaged pts_in_hull.npy."""
    return np.load(_ASSETS / "pts_in_hull.npy").astype(np.float64)


class ECCVGenerator(nn.Module):
    """The release's `ECCVGenerator`: L in [0, 100] `[N, 1, H, W]` to ab `[N, 2, H, W]`."""

    def __init__(self):
        super().__init__()
        in_channels = 1
        for block, (width, depth, stride, dilation) in enumerate(_BLOCKS, start=1):
            layers = []
            for i in range(depth):
                last_stride = stride if i == depth - 1 else 1
                layers += [
                    nn.Conv2d(
                        in_channels,
                        width,
                        3,
                        stride=last_stride,
                        padding=dilation,
                        dilation=dilation,
                        bias=True,
                    ),
                    nn.ReLU(True),
                ]
                in_channels = width
            layers.append(nn.BatchNorm2d(width))
            setattr(self, f"model{block}", nn.Sequential(*layers))
        self.model8 = nn.Sequential(
            nn.ConvTranspose2d(512, 256, 4, stride=2, padding=1, bias=True),
            nn.ReLU(True),
            nn.Conv2d(256, 256, 3, padding=1, bias=True),
            nn.ReLU(True),
            nn.Conv2d(256, 256, 3, padding=1, bias=True),
            nn.ReLU(True),
            nn.Conv2d(256, 313, 1, bias=True),
        )
        self.softmax = nn.Softmax(dim=1)
        self.model_out = nn.Conv2d(313, 2, 1, bias=False)
        self.upsample4 = nn.Upsample(scale_factor=4, mode="bilinear")
        with torch.no_grad():
            centers = torch.from_numpy(bin_centers().T / _AB_SCALE).float()
            self.model_out.weight.copy_(centers[:, :, None, None])

    def logits(self, lightness):
        """The 313 logits at 1/4 resolution (the release's conv8_313, temperature folded in)."""
        x = (lightness - 50.0) / 100.0
        for block in range(1, 9):
            x = getattr(self, f"model{block}")(x)
        return x

    def ab_quarter(self, logits):
        """ab at 1/4 resolution from the logits: 110 * model_out(softmax(logits)), before the x4
        upsampling."""
        return _AB_SCALE * self.model_out(self.softmax(logits))

    def forward(self, lightness):
        return self.upsample4(self.ab_quarter(self.logits(lightness)))


def randomize_(model: ECCVGenerator, seed: int = 0, logit_std: float = 3.0) -> ECCVGenerator:
    """Random weights and BatchNorm statistics at sane scales; leaves the model in eval mode.

    Convs keep PyTorch's random initialisation (seeded) with random biases. Each BatchNorm's
    running statistics are first measured on random L (so activations stay of order 1 through
    the 20 layers), then perturbed (mean shifted, variance scaled by 0.5-2) and given random
    affine weights; finally the logits conv is scaled so that the logits have standard
    deviation `logit_std` (a peaked but not one-hot softmax, like the release's).
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)) and module is not model.model_out:
            module.reset_parameters()
            with torch.no_grad():
                module.bias.uniform_(-0.1, 0.1, generator=generator)
    l_sample = torch.rand((2, 1, 128, 128), generator=generator) * 100.0
    batch_norms = [getattr(model, f"model{block}")[-1] for block in range(1, 8)]
    for batch_norm in batch_norms:
        batch_norm.reset_running_stats()
        batch_norm.momentum = None  # cumulative average: the running stats become the batch's
    model.train()
    with torch.no_grad():
        model.logits(l_sample)
        for batch_norm in batch_norms:
            shape = batch_norm.running_mean.shape
            spread = batch_norm.running_var.sqrt()
            batch_norm.running_mean += 0.2 * spread * torch.randn(shape, generator=generator)
            batch_norm.running_var *= 0.5 + 1.5 * torch.rand(shape, generator=generator)
            batch_norm.weight.copy_(0.5 + torch.rand(shape, generator=generator))
            batch_norm.bias.copy_(0.2 * torch.randn(shape, generator=generator))
            batch_norm.num_batches_tracked.fill_(1234)
    model.eval()
    with torch.no_grad():
        std = float(model.logits(l_sample).std())
        model.model8[-1].weight *= logit_std / std
        model.model8[-1].bias *= logit_std / std
    return model


def random_released_model(seed: int = 0) -> ECCVGenerator:
    """An `ECCVGenerator` with random weights and statistics, in eval mode."""
    return randomize_(ECCVGenerator(), seed)
