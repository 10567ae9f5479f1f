"""Reading PyTorch `.pth` state dicts, and converting a released file in one call.

Reading needs torch (`pip install keras-colorful[convert]`); it is imported only here, when a
`.pth` file is read, and only tensors are unpickled (`torch.load(weights_only=True)`).
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from keras_colorful import models
from keras_colorful.weights import convert


def load_state_dict(pth_path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Reads a PyTorch `.pth` state dict (needs torch; only tensors are unpickled).

    Args:
        pth_path: the file.

    Returns:
        The state dict with numpy float64 values.

    Raises:
        ImportError: torch is not installed (the message says how to install it).
        ValueError: the file is missing or is not a state dict of tensors.
    """
    path = pathlib.Path(os.fspath(pth_path)).expanduser()
    if not path.is_file():
        raise ValueError(f"No such weights file: {str(path)!r}.")
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            f"Reading the PyTorch file {str(path)!r} needs torch: `pip install "
            "keras-colorful[convert]` (or `pip install torch`). Alternatively convert it once "
            "where torch is installed with `python scripts/convert_official_weights.py "
            "--pth=... --output=eccv16.keras` and load the .keras file."
        ) from error
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for foreign or broken files
        raise ValueError(f"Cannot read {str(path)!r} as a PyTorch state dict: {error}") from error
    if not isinstance(state_dict, dict):
        raise ValueError(f"{str(path)!r} holds a {type(state_dict).__name__}, not a state dict.")
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
        ImportError: torch is not installed.
        ValueError: an unreadable or foreign file, or an output name of another kind.
    """
    if output_path is not None:
        output_path = pathlib.Path(os.fspath(output_path)).expanduser()
        if not output_path.name.endswith((".keras", ".weights.h5")):
            raise ValueError(f"output_path must end in .keras or .weights.h5, got {output_path}.")
    net = convert.convert_state_dict(load_state_dict(pth_path))
    if output_path is not None:
        output_path.parent.mkdir(parents=True, exist_ok=True)
        if output_path.name.endswith(".keras"):
            net.save(output_path)
        else:
            net.save_weights(output_path)
    return net
