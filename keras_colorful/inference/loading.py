"""`load(source)`: a `Colorizer` from the default model, a `.keras` file, a SavedModel or a name.

Sources:
- None: the model bundled with the package (`DEFAULT_MODEL_PATH`).
- a `.keras` file: a network saved by `scripts/train.py` (a `ColorizationNet`), or an inference
  model from `models.build_inference_model` (its network is used, the temperature stays free).
- a SavedModel directory exported by `keras_colorful.export` (its `colorize_tensor` signature).
- a name in `RELEASED_WEIGHTS`: the authors' released weights ("eccv16").

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

import keras
import numpy as np
import tensorflow as tf

from keras_colorful import constants, models
from keras_colorful.export import saved_model_lib
from keras_colorful.inference import colorizer as colorizer_lib
from keras_colorful.inference import processing

# The model `load()` returns by default; the weights issue ships it as package data.
DEFAULT_MODEL_PATH = pathlib.Path(__file__).parent.parent / "assets" / "default.keras"
# Named presets of released weights, and what each is.
RELEASED_WEIGHTS = {
    "eccv16": "the authors' released ECCV 2016 model (colorization_release_v2-9b330a0b.pth)",
}

_HOW_TO_GET_A_MODEL = (
    "Train one with `python scripts/train.py --model_dir=runs/a` and load "
    "`keras_colorful.load('runs/a/model.keras')`, or load a SavedModel exported with "
    "`python export/saved_model.py`."
)


def load(
    source: str | os.PathLike | None = None,
    *,
    weights_path: str | os.PathLike | None = None,
    network_size=colorizer_lib.DEFAULT_NETWORK_SIZE,
) -> colorizer_lib.Colorizer:
    """Loads a colorization model as a `Colorizer`.

    Args:
        source: None for the package's default model; a `.keras` file (from
            `scripts/train.py`); a SavedModel directory exported by this package; or the name
            of released weights ("eccv16").
        weights_path: a local weights file for a named `source` (e.g. the authors' `.pth`).
        network_size: the size the network runs at (see `Colorizer`); default 256x256.

    Returns:
        A `Colorizer`.

    Raises:
        FileNotFoundError: `source` is None and the package has no bundled model yet.
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
        model = saved_model_predictor(source)
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

    What `load` uses for every source but SavedModels; also what export tools need.

    Args:
        source: None (the bundled default), a `.keras` file, or a name in `RELEASED_WEIGHTS`.
        weights_path: a local weights file for a named source.

    Returns:
        The network, L `[N, H, W, 1]` to logits `[N, H / 4, W / 4, 313]`.

    Raises:
        FileNotFoundError: `source` is None and the package has no bundled model yet.
        ValueError: a source that is neither a `.keras` file nor a known name (named in the
            message), or `weights_path` with a source that is not a name.

    Example:

    >>> load_network("eccv17")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Cannot load a model from 'eccv17': no such file or directory. ...
    """
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
        return load_released(source, weights_path=weights_path)
    if weights_path is not None:
        raise ValueError(
            f"weights_path is only for named sources {sorted(RELEASED_WEIGHTS)}, not {source!r}."
        )
    path = pathlib.Path(os.fspath(source)).expanduser()
    if path.is_file() and path.suffix == ".keras":
        return logits_network(_load_keras(path))
    if not path.exists():
        problem = "no such file or directory"
    elif path.is_dir():
        problem = "a directory without saved_model.pb"
    else:
        problem = "not a .keras file"
    raise ValueError(
        f"Cannot load a model from {os.fspath(source)!r}: {problem}. Expected a .keras file, a "
        f"SavedModel directory or one of {sorted(RELEASED_WEIGHTS)}. {_HOW_TO_GET_A_MODEL}"
    )


def load_released(name: str, weights_path: str | os.PathLike | None = None) -> keras.Model:
    """The logits network of released weights `name` (the one place that knows about them).

    "eccv16": the authors' `colorization_release_v2-9b330a0b.pth`, downloaded once into
    `~/.keras/keras_colorful` (or read from `weights_path`), sha256-checked, converted exactly by
    `keras_colorful.weights` (temperature folded: the default T = 0.38 reproduces the release)
    and cached there as a `.keras` file.

    Args:
        name: a key of `RELEASED_WEIGHTS`.
        weights_path: a local copy of the released weights file.

    Returns:
        The network (`ColorizationNet`).

    Raises:
        ValueError: unknown name, or a file that is not the release (sha256 prefix).
        FileNotFoundError: `weights_path` does not exist.
        OSError: no `weights_path` and the download failed (the message says where to get
            the file and how to pass it).
        ImportError: a first conversion without torch installed.
    """
    if name not in RELEASED_WEIGHTS:
        raise ValueError(f"Unknown released weights {name!r}; known: {sorted(RELEASED_WEIGHTS)}.")
    from keras_colorful import weights  # only this function needs it

    return weights.released_network(weights_path=weights_path)


def _load_keras(path: pathlib.Path) -> keras.Model:
    # `models` is imported at the top of this module: its classes are registered by now.
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many kinds for broken or foreign files.
        raise ValueError(f"Cannot load {str(path)!r} as a Keras model: {error}") from error


def logits_network(model: keras.Model) -> keras.Model:
    """The network giving ab-bin logits inside a loaded Keras model.

    Args:
        model: a `ColorizationNet`, a model containing one (e.g. `build_inference_model`'s),
            or another model from L `[N, H, W, 1]` to logits `[N, h, w, bins]`.

    Returns:
        The logits network.

    Raises:
        ValueError: the model takes no single-channel L or gives ab, not logits.

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
    input_shape, output_shape = model.input_shape, model.output_shape
    if (
        not isinstance(input_shape, tuple)
        or not isinstance(output_shape, tuple)
        or input_shape[-1] != 1
        or output_shape[-1] in (None, 2, 3)
    ):
        raise ValueError(
            f"Model {model.name!r} ({input_shape} -> {output_shape}) is not a colorization "
            "network from L [N, H, W, 1] to ab-bin logits [N, H / 4, W / 4, 313]."
        )
    return model


def saved_model_predictor(path: str | os.PathLike):
    """Wraps a SavedModel from `keras_colorful.export` for the `Colorizer`.

    The returned callable takes L at the network size float32 `[N, h, w, 1]` and a temperature
    and gives ab `[N, h, w, 2]`: it feeds the gray image of that L (uint8, as the signature
    takes) to `colorize_tensor_with_temperature` (or `colorize_tensor`, whose temperature is
    fixed at export) and reads its ab output. The full-resolution work stays in the
    `Colorizer`, so large images cost the same memory as with a `.keras` model. The export's
    own network size applies inside the SavedModel; keep the `Colorizer`'s the same (both
    default to 256).

    Args:
        path: the SavedModel directory.

    Returns:
        A callable `(l_network, temperature) -> ab` with a `name` attribute.

    Raises:
        ValueError: the SavedModel has neither signature.
    """
    path = os.fspath(path)
    loaded = tf.saved_model.load(path)
    with_temperature = saved_model_lib.COLORIZE_TENSOR + saved_model_lib.WITH_TEMPERATURE_SUFFIX
    if with_temperature in loaded.signatures:
        signature, fixed_temperature = loaded.signatures[with_temperature], None
    elif saved_model_lib.COLORIZE_TENSOR in loaded.signatures:
        signature = loaded.signatures[saved_model_lib.COLORIZE_TENSOR]
        fixed_temperature = constants.ANNEALED_MEAN_TEMPERATURE
    else:
        raise ValueError(
            f"SavedModel {path!r} has no {saved_model_lib.COLORIZE_TENSOR!r} signature (it has "
            f"{sorted(loaded.signatures)}); export it with keras_colorful.export."
        )

    def predict(l_network: np.ndarray, temperature: float) -> np.ndarray:
        gray = np.stack([processing.gray_rgb(l_full)[..., :1] for l_full in l_network])
        inputs = {saved_model_lib.IMAGES: tf.constant(gray)}
        if fixed_temperature is None:
            inputs[saved_model_lib.TEMPERATURE] = tf.constant([temperature], tf.float32)
        elif temperature != fixed_temperature:
            raise ValueError(
                f"SavedModel {path!r} has only the fixed-temperature signature "
                f"{saved_model_lib.COLORIZE_TENSOR!r}; cannot use temperature {temperature}."
            )
        return signature(**inputs)[saved_model_lib.AB].numpy()

    predict.name = pathlib.Path(path).name
    predict.loaded = loaded  # keeps the SavedModel's variables alive
    return predict
