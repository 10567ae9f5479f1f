"""Reading PyTorch `.pth` state dicts as numpy, and converting a released file in one call.

No PyTorch needed: `weights.torch_file` reads the file as safely as
`torch.load(weights_only=True)` (only tensors are unpickled).
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from keras_colorful import files, models
from keras_colorful.weights import convert, torch_file


def load_state_dict(pth_path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Reads a PyTorch `.pth` state dict, every value as a float64 numpy array.

    Args:
        pth_path: the file (`torch.save(model.state_dict(), path)`, zip or legacy format).

    Returns:
        The state dict with numpy float64 values.

    Raises:
        ValueError: the file is missing or is not a state dict of tensors (named in the message).

    Example:

    >>> load_state_dict("no/such/file.pth")
    Traceback (most recent call last):
    ...
    ValueError: No such weights file: 'no/such/file.pth'.
    """
    state_dict = torch_file.read_state_dict(pth_path)
    return {key: convert.to_numpy(value) for key, value in state_dict.items()}


def convert_pth(
    pth_path: str | os.PathLike, output_path: str | os.PathLike | None = None
) -> models.ColorizationNet:
    """Converts a released `.pth` file (see `convert_state_dict`), optionally saving it.

    Args:
        pth_path: `colorization_release_v2-9b330a0b.pth` (or a file of the same layout).
        output_path: where to save the network: a `.keras` file (loadable with
            `keras_colorful.load(path)`) or a `.weights.h5` file (for
            `models.build_model("eccv16").load_weights`); None saves nothing.

    Returns:
        The converted network.

    Raises:
        ValueError: an unreadable or foreign file, or an output name of another kind.
    """
    if output_path is not None:
        output_path = pathlib.Path(os.fspath(output_path)).expanduser()
        if not output_path.name.endswith((".keras", ".weights.h5")):
            raise ValueError(f"output_path must end in .keras or .weights.h5, got {output_path}.")
    net = convert.convert_state_dict(load_state_dict(pth_path))
    if output_path is not None:
        if output_path.name.endswith(".keras"):
            files.save_keras_model(net, output_path)
        else:
            with files.atomic_path(output_path, suffix=".weights.h5") as partial:
                net.save_weights(partial)
    return net
