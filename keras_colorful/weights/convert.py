"""Exact conversion between the PyTorch layout of the release and the Keras `ColorizationNet`.

The authors' release (`presets.RELEASED_WEIGHTS["eccv16"]`, the PyTorch port of the Caffe model,
BSD-2-Clause) is the state dict of their `ECCVGenerator`, which maps onto the "eccv16" preset of
`models.ColorizationNet` layer by layer (other presets use the same layout):

| PyTorch key | shape | Keras layer, weight |
|---|---|---|
| `model{b}.{j}.weight`, `.bias` (Conv2d) | (out, in, kh, kw) | `model{b}_conv{j}` kernel (kh, kw, in, out) |
| `model8.0.weight`, `.bias` (ConvTranspose2d) | (in, out, kh, kw) | `model8_convT0` kernel (kh, kw, out, in) |
| `model{b}.{2 depth}.` weight, bias, running_mean, running_var | (C,) | `model{b}_bn` gamma, beta, moving mean, moving variance |
| `model8.6` (the 313 logits) | (313, 256, 1, 1) | `model8_conv6`, times `LOGIT_SCALE` (below) |
| `model_out.weight` | (2, 313, 1, 1) | none: the bin centres / 110, checked, then `AnnealedMean` |

Both kernels are plain transposes (no spatial flip): Keras' `Conv2DTranspose` kernel is indexed
like PyTorch's. `num_batches_tracked` is dropped (eval-mode BatchNorm ignores it).

Temperature folding. The release computes ab = 110 * model_out(softmax(z)) = sum_q softmax(z)_q
c_q over the bin centres c_q, its logits z having the paper's annealing (the Caffe model's x2.606,
1 / 0.3838) folded in. Our decode is sum_q softmax(y / T)_q c_q with the package-wide default
T = `constants.ANNEALED_MEAN_TEMPERATURE` = 0.38. The converter stores y = 0.38 z
(`LOGIT_SCALE`), so that at the default temperature softmax(y / 0.38) = softmax(z): the released
forward pass exactly, with no per-model default temperature anywhere. Other temperatures keep
their meaning: y = z / 2.606 * 0.990 is the network's un-annealed logits to 1%
(0.38 x 2.606 = 0.990), so T = 1 gives the plain mean as for our own models.

Example:

>>> import numpy as np
>>> from keras_colorful import models
>>> state_dict = {}
>>> for layer in models.build_model("eccv16").layers:
...     for key, value in zip(torch_keys(layer), layer.get_weights()):
...         state_dict[key] = np.transpose(value, (3, 2, 0, 1)) if value.ndim == 4 else value
>>> net = convert_state_dict(state_dict)
>>> net.name, net.count_params()
('eccv16', 32240377)
"""

from __future__ import annotations

import re

import keras
import numpy as np

from keras_colorful import bins, constants, models
from keras_colorful.models import calibration

# The converted logits are the release's times this (see the module docstring), so that the
# package's default annealed-mean temperature reproduces the released forward pass exactly.
LOGIT_SCALE = constants.ANNEALED_MEAN_TEMPERATURE
# The preset whose layout `torch_keys` assumes by default: the release's network.
PRESET = "eccv16"
# model_out.weight must equal the bin centres / 110 to this (0.011 ab units); the decode uses
# `bins.ab_bin_centers()` instead, so a different bin order or scale would give wrong colours.
MODEL_OUT_TOLERANCE = 1e-4

_MODEL_OUT_KEY = "model_out.weight"
_IGNORED_SUFFIX = ".num_batches_tracked"
_LAYER_NAME = re.compile(r"model(\d+)_(conv|convT|bn)(\d*)")


def torch_keys(layer: keras.layers.Layer, block_depths=None) -> list[str]:
    """The PyTorch state-dict keys of a `ColorizationNet` layer's weights, in Keras' order.

    Args:
        layer: a layer of a `ColorizationNet` (a conv, transposed conv or BatchNorm named
            `model{b}_conv{j}`, `model8_convT0` or `model{b}_bn`), or any other layer.
        block_depths: convs per block; default the "eccv16" preset's (needed for BatchNorm,
            which sits at index 2 * depth of its block's `nn.Sequential`).

    Returns:
        The keys (e.g. ["model1.0.weight", "model1.0.bias"]), [] for layers without weights.

    Raises:
        ValueError: a layer with weights whose name is not of the network.

    Example:

    >>> from keras_colorful import models
    >>> torch_keys(models.build_model("eccv16").get_layer("model1_bn"))
    ['model1.4.weight', 'model1.4.bias', 'model1.4.running_mean', 'model1.4.running_var']
    """
    if not layer.weights:
        return []
    if block_depths is None:
        block_depths = models.PRESETS[PRESET]["block_depths"]
    match = _LAYER_NAME.fullmatch(layer.name)
    if match is None:
        raise ValueError(f"Layer {layer.name!r} is not a layer of the ECCV16 network.")
    block, kind, index = int(match[1]), match[2], match[3]
    if kind == "bn":
        prefix = f"model{block}.{2 * block_depths[block - 1]}"
        return [f"{prefix}.{name}" for name in ("weight", "bias", "running_mean", "running_var")]
    prefix = f"model{block}.{int(index)}"
    return [f"{prefix}.weight", f"{prefix}.bias"]


def to_numpy(value) -> np.ndarray:
    """A torch tensor or array-like to a float64 numpy array."""
    if hasattr(value, "detach"):  # a torch tensor; torch itself is not imported here
        value = value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=np.float64)


def _to_keras_layout(key: str, value: np.ndarray, expected_shape) -> np.ndarray:
    """PyTorch (out, in, kh, kw) / (in, out, kh, kw) kernels to Keras (kh, kw, in|out, out|in)."""
    if value.ndim == 4:
        value = np.transpose(value, (2, 3, 1, 0))
    if value.shape != tuple(expected_shape):
        raise ValueError(
            f"State dict entry {key!r} has shape {value.shape} in Keras layout, the network "
            f"needs {tuple(expected_shape)}: this is not a state dict of that network."
        )
    return value


def check_model_out(model_out) -> float:
    """Checks the release's fixed 313 -> 2 conv against `bins.ab_bin_centers() / 110`.

    Args:
        model_out: `model_out.weight`, shape (2, 313, 1, 1) (or (2, 313)).

    Returns:
        The largest absolute difference (in units of ab / 110).

    Raises:
        ValueError: a wrong shape, or a difference above `MODEL_OUT_TOLERANCE` (a different bin
            order or scale, which the conversion cannot reproduce).

    Example:

    >>> check_model_out(bins.ab_bin_centers().T / 110.0) < 1e-7  # float32 rounding
    True
    """
    model_out = to_numpy(model_out)
    if model_out.size != 2 * constants.NUM_BINS:
        raise ValueError(f"{_MODEL_OUT_KEY} has shape {model_out.shape}, expected (2, 313, 1, 1).")
    expected = bins.ab_bin_centers().T.astype(np.float64) / constants.AB_SCALE
    difference = float(np.max(np.abs(model_out.reshape(2, constants.NUM_BINS) - expected)))
    if not difference <= MODEL_OUT_TOLERANCE:
        raise ValueError(
            f"{_MODEL_OUT_KEY} differs from the bin centres / {constants.AB_SCALE:g} by up to "
            f"{difference:.3g} (tolerance {MODEL_OUT_TOLERANCE:g}): the file's bins are not "
            "pts_in_hull.npy in its order, and the converted model would decode wrong colours."
        )
    return difference


def convert_state_dict(
    state_dict, preset: str = PRESET, logit_scale: float = LOGIT_SCALE
) -> models.ColorizationNet:
    """Converts the release's state dict into the Keras "eccv16" network (temperature folded).

    Args:
        state_dict: mapping from the release's keys to torch tensors or numpy arrays (what
            `torch.load` gives for `colorization_release_v2-9b330a0b.pth`).
        preset: the network's preset; other presets take state dicts of the same layout
            (e.g. a "small" network trained in PyTorch, `scripts/train_torch.py`).
        logit_scale: factor applied to the logits layer; 1 keeps a state dict's own logits.

    Returns:
        A `ColorizationNet` named after the preset whose logits are the state dict's times
        `logit_scale`: for the release at the default scale, decoded at the default
        temperature 0.38 it gives the released model's ab.

    Raises:
        ValueError: missing, unexpected or wrongly shaped entries, or a `model_out.weight`
            that is not the bin centres / 110.

    Example:

    >>> convert_state_dict({"model1.0.weight": np.zeros((64, 1, 3, 3))})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: The state dict lacks 73 entries of the 'eccv16' network, e.g. ['model1.0.bias', ...
    """
    state_dict = dict(state_dict)
    net = models.build_model(preset, name=preset)
    logits_layer = calibration.logits_layer(net)
    assignments = []
    missing = []
    for layer in net.layers:
        keys = torch_keys(layer, net.block_depths)
        missing += [key for key in keys if key not in state_dict]
        assignments.append((layer, keys))
    if missing:
        raise ValueError(
            f"The state dict lacks {len(missing)} entries of the {preset!r} network, e.g. "
            f"{missing[:3]}: this is not a state dict of that network (keys start with "
            f"{sorted(state_dict)[:3]})."
        )
    used = {key for _, keys in assignments for key in keys} | {_MODEL_OUT_KEY}
    unexpected = sorted(
        key for key in state_dict if key not in used and not key.endswith(_IGNORED_SUFFIX)
    )
    if unexpected:
        raise ValueError(
            f"The state dict has {len(unexpected)} entries the {preset!r} network does not, "
            f"e.g. {unexpected[:3]}: this is not a state dict of that network."
        )
    if _MODEL_OUT_KEY in state_dict:
        check_model_out(state_dict[_MODEL_OUT_KEY])
    for layer, keys in assignments:
        if not keys:
            continue
        values = [
            _to_keras_layout(key, to_numpy(state_dict[key]), weight.shape)
            for key, weight in zip(keys, layer.weights, strict=True)
        ]
        if layer is logits_layer:
            values = [value * logit_scale for value in values]
        layer.set_weights([value.astype(np.float32) for value in values])
    return net


def network_state_dict(net: models.ColorizationNet) -> dict[str, np.ndarray]:
    """The PyTorch-layout state dict of a `ColorizationNet` (the inverse of `convert_state_dict`
    with `logit_scale=1`), e.g. to continue training a Keras network in PyTorch.

    Example:

    >>> from keras_colorful import models
    >>> net = models.build_model("tiny")
    >>> state_dict = network_state_dict(net)
    >>> state_dict["model1.0.weight"].shape
    (8, 1, 3, 3)
    >>> again = convert_state_dict(state_dict, preset="tiny", logit_scale=1.0)
    >>> all(np.array_equal(a, b) for a, b in zip(net.get_weights(), again.get_weights()))
    True
    """
    state_dict = {}
    for layer in net.layers:
        keys = torch_keys(layer, net.block_depths)
        for key, value in zip(keys, layer.get_weights(), strict=True):
            state_dict[key] = np.transpose(value, (3, 2, 0, 1)) if value.ndim == 4 else value
    return state_dict
