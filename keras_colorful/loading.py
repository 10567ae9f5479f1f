"""`load(source)`: a `Colorizer` from any model source; `load_network` for the Keras network.

Sources:
- None or "default": the model bundled with the package (`DEFAULT_MODEL_PATH`).
- a `.keras` file: a network saved by `scripts/train.py` (a `ColorizationNet`), or an inference
  model from `models.build_inference_model` (its network is used, the temperature stays free).
- a training run's folder (`--model_dir` of `scripts/train.py`): its `model.keras`.
- a SavedModel directory exported by `keras_colorful.export` (its `colorize_tensor` signature).
- a name in `presets.RELEASED_WEIGHTS`: the authors' released weights ("eccv16").

`list_presets()` lists the names.

This module sits above `inference`, `export` and `weights`: it is the one place that knows every
kind of source.

Example:

>>> import tempfile
>>> from keras_colorful import models
>>> path = tempfile.mkdtemp() + "/tiny.keras"
>>> models.build_model("tiny", name="tiny_net").save(path)
>>> load(path, network_size=32)
Colorizer(model='tiny_net', network_size=(32, 32))
"""

from __future__ import annotations

import os
import pathlib
import zipfile

import keras

from keras_colorful import models, presets
from keras_colorful.inference import colorizer as colorizer_lib
from keras_colorful.inference import pipeline
from keras_colorful.training import run_directory

# The model `load()` returns by default, shipped as package data.
DEFAULT_MODEL_PATH = pathlib.Path(__file__).parent / "assets" / "default.keras"
# Named released weights, and what each is.
RELEASED_WEIGHTS = {
    name: entry["description"] for name, entry in presets.RELEASED_WEIGHTS.items()
}

# The name of the bundled model, for `load("default")`.
DEFAULT_NAME = "default"

_HOW_TO_GET_A_MODEL = (
    "Train one with `python scripts/train.py --model_dir=runs/a` and load "
    "`keras_colorful.load('runs/a/model.keras')`, or load a SavedModel exported with "
    "`python export/saved_model.py`."
)


def list_presets() -> dict[str, str]:
    """The names `load` takes, and what each loads.

    Example:

    >>> sorted(list_presets())
    ['default', 'eccv16']
    """
    return {DEFAULT_NAME: "the model bundled with the package", **RELEASED_WEIGHTS}


def _accepted_forms() -> str:
    names = ", ".join(f"{name!r} ({what})" for name, what in list_presets().items())
    return (
        "load() takes: None or a name, one of " + names + "; a .keras file; a training run's "
        f"folder holding {run_directory.MODEL_FILE}; or a SavedModel folder exported by "
        f"keras_colorful.export. (Network presets for training, with random weights: "
        f"{sorted(presets.PRESETS)}.)"
    )


def load(
    source: str | os.PathLike | None = None,
    *,
    weights_path: str | os.PathLike | None = None,
    network_size=colorizer_lib.DEFAULT_NETWORK_SIZE,
) -> colorizer_lib.Colorizer:
    """Loads a colorization model as a `Colorizer`.

    Args:
        source: None (or "default") for the package's default model; a `.keras` file (from
            `scripts/train.py`) or a training run's folder; a SavedModel directory exported by
            this package; or the name of released weights ("eccv16"; see `list_presets`).
        weights_path: a local weights file for a named `source` (e.g. the authors' `.pth`).
        network_size: the size the network runs at (see `Colorizer`); default 256x256.

    Returns:
        A `Colorizer`.

    Raises:
        FileNotFoundError: `source` is None and the package has no bundled model.
        ValueError: a source that is no model file, SavedModel or known name (the message
            names it), or `weights_path` without a named source.

    Example:

    >>> load("no/such/model.keras")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Cannot load a model from 'no/such/model.keras': no such file or directory. ...
    """
    if source is not None and not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be None, a path or a name, got {type(source).__name__}.")
    if source is not None and _is_saved_model(source):
        if weights_path is not None:
            raise ValueError(f"weights_path does not apply to the SavedModel {source!r}.")
        from keras_colorful.export import saved_model_lib  # TF Serving's format: only here

        model = saved_model_lib.load_predictor(source)
    else:
        model = load_network(source, weights_path=weights_path)
    return colorizer_lib.Colorizer(model, network_size=network_size)


def _is_saved_model(source: str | os.PathLike) -> bool:
    path = pathlib.Path(os.fspath(source)).expanduser()
    return (path / "saved_model.pb").is_file()


def load_network(
    source: str | os.PathLike | None = None, *, weights_path: str | os.PathLike | None = None
) -> keras.Model:
    """The Keras logits network of the default model, a `.keras` file or released weights.

    What `load` uses for every source but SavedModels; also what the export tools need.

    Args:
        source: None (the bundled default), a `.keras` file, or a name in `RELEASED_WEIGHTS`.
        weights_path: a local weights file for a named source.

    Returns:
        The network, L `[N, H, W, 1]` to logits `[N, H / 4, W / 4, 313]`.

    Raises:
        FileNotFoundError: `source` is None and the package has no bundled model.
        ValueError: a source that is neither a `.keras` file nor a known name (named in the
            message), or `weights_path` with a source that is not a name.

    Example:

    >>> load_network("eccv17")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Cannot load a model from 'eccv17': no such file or directory. ...
    """
    if source == DEFAULT_NAME:
        source = None
    if source is None:
        if weights_path is not None:
            raise ValueError(
                f"weights_path goes with a named source, one of {sorted(RELEASED_WEIGHTS)}: "
                f"e.g. load('eccv16', weights_path={os.fspath(weights_path)!r})."
            )
        if not DEFAULT_MODEL_PATH.is_file():
            raise FileNotFoundError(
                f"This installation of keras-colorful has no bundled model "
                f"({DEFAULT_MODEL_PATH} is missing). {_HOW_TO_GET_A_MODEL}"
            )
        source = DEFAULT_MODEL_PATH
    if isinstance(source, str) and source in RELEASED_WEIGHTS:
        from keras_colorful.weights import released  # only released weights need it

        return released.released_network(source, weights_path=weights_path)
    if weights_path is not None:
        raise ValueError(
            f"weights_path is only for named sources {sorted(RELEASED_WEIGHTS)}, not {source!r}."
        )
    path = pathlib.Path(os.fspath(source)).expanduser()
    if path.is_dir() and (path / run_directory.MODEL_FILE).is_file():
        path = path / run_directory.MODEL_FILE  # a training run's folder
    if path.is_file() and path.suffix == ".keras":
        return logits_network(_load_keras(path))
    if not path.exists():
        problem = "no such file or directory"
    elif path.is_dir():
        problem = f"a directory without saved_model.pb or {run_directory.MODEL_FILE}"
    else:
        problem = "not a .keras file"
    raise ValueError(
        f"Cannot load a model from {os.fspath(source)!r}: {problem}. {_accepted_forms()} "
        f"{_HOW_TO_GET_A_MODEL}"
    )


def _load_keras(path: pathlib.Path) -> keras.Model:
    # `models` is imported at the top of this module: its classes are registered by now.
    if not zipfile.is_zipfile(path):  # e.g. a file cut short by a kill, or 0 bytes
        raise ValueError(
            f"Cannot load {str(path)!r}: truncated or not a .keras file (a .keras file is a zip "
            f"archive; this one has {path.stat().st_size} bytes and is not)."
        )
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many kinds for broken or foreign files.
        raise ValueError(f"Cannot load {str(path)!r} as a Keras model: {error}") from error


def logits_network(model: keras.Model) -> keras.Model:
    """The network giving ab-bin logits inside a loaded Keras model.

    Args:
        model: a `ColorizationNet`, a model containing one (e.g. `build_inference_model`'s),
            or another model from L `[N, H, W, 1]` to 313 logits per pixel.

    Returns:
        The logits network.

    Raises:
        ValueError: the model takes no single-channel L or gives no 313 logits.

    Example:

    >>> net = models.build_model("tiny")
    >>> logits_network(models.build_inference_model(net)) is net
    True
    """
    if isinstance(model, models.ColorizationNet):
        return model
    nets = [layer for layer in model.layers if isinstance(layer, models.ColorizationNet)]
    if len(nets) == 1:
        return nets[0]
    input_shape = model.input_shape
    if not (isinstance(input_shape, tuple) and input_shape[-1] == 1) or not (
        pipeline.is_logits_network(model)
    ):
        raise ValueError(
            f"Model {model.name!r} ({input_shape} -> {model.output_shape}) is not a "
            "colorization network from L [N, H, W, 1] to ab-bin logits [N, H / 4, W / 4, 313]."
        )
    return model
