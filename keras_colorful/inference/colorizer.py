"""`Colorizer`: colorize photos (paths, PIL images, numpy arrays) at their own resolution.

The steps are those of `inference.pipeline`: images whose network size is the same are batched
through the network (`pipeline.predict_ab` and the x4 upsampling, in one `tf.function`); the
full-resolution steps run one photo at a time in chunks (`inference.full_resolution`). On the
first photo, the full-resolution steps compile on a thread while the network is traced.

Example:

>>> import numpy as np
>>> from keras_colorful import models
>>> colorizer = Colorizer(models.build_model("tiny"), network_size=32)
>>> colorizer.colorize(np.zeros((30, 41), "uint8")).shape
(30, 41, 3)
>>> [image.shape for image in colorizer.colorize([np.ones((9, 5, 3)), np.zeros((4, 4))])]
[(9, 5, 3), (4, 4, 3)]
"""

from __future__ import annotations

import os
import pathlib
import threading

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from keras_colorful import bins, constants, image_io
from keras_colorful.inference import full_resolution, pipeline

DEFAULT_NETWORK_SIZE = pipeline.DEFAULT_NETWORK_SIZE
DEFAULT_BATCH_SIZE = 8

_SINGLE_IMAGE_TYPES = (str, os.PathLike, bytes, bytearray, memoryview, np.ndarray, Image.Image)


class _KerasPredictor:
    """L at the network size to ab at the network size (x4 upsampled), with a logits network."""

    def __init__(self, net: keras.Model):
        self.net = net

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, None, None, 1], tf.float32),
                tf.TensorSpec([], tf.float32),
            ],
            autograph=False,  # no Python control flow on tensors: a faster trace
        )
        def predict(l_network, temperature):
            return pipeline.upsample_to(pipeline.predict_ab(net, l_network, temperature))

        self._predict = predict

    def trace(self) -> None:
        """Traces the network's function now (it is traced once, for every shape)."""
        self._predict.get_concrete_function()

    def __call__(self, l_network: np.ndarray, temperature: float) -> np.ndarray:
        return self._predict(tf.constant(l_network), tf.constant(temperature, tf.float32)).numpy()


class Colorizer:
    """Colorizes images with a trained network: L from the input, ab predicted.

    Usually made by `keras_colorful.load()`. Output images have the input's full resolution;
    inputs of different sizes can be mixed in one call.

    Args:
        model: the logits network (`models.build_model`, or a `.keras` file from
            `scripts/train.py` loaded with `keras.models.load_model`), or any callable mapping L
            at the network size float32 `[N, h, w, 1]` and a float temperature to ab at the
            same size `[N, h, w, 2]` as numpy (what `load` builds for SavedModels).
        network_size: the size the network runs at: an int (square; default 256 as the
            release's demo), a (height, width) pair, or None for each image's own size rounded
            to a multiple of 8 (slower, more detail; memory then grows with the image).

    Example:

    >>> import numpy as np
    >>> from keras_colorful import models
    >>> colorizer = Colorizer(models.build_model("tiny"), network_size=(16, 24))
    >>> colorizer.colorize(np.full((20, 30, 3), 0.5), temperature=1.0).dtype
    dtype('uint8')
    """

    def __init__(self, model, network_size=DEFAULT_NETWORK_SIZE):
        if network_size is not None:
            network_size = pipeline.network_size_for(1, 1, network_size)
        self.network_size = network_size
        self.model = model
        self._warmed_up = False
        if isinstance(model, keras.Model):
            self._predict = _KerasPredictor(model)
        elif callable(model):
            self._predict = model
        else:
            raise TypeError(f"model must be a keras.Model or a callable, got {type(model).__name__}.")

    def __repr__(self) -> str:
        name = getattr(self.model, "name", type(self.model).__name__)
        return f"Colorizer(model={name!r}, network_size={self.network_size})"

    def colorize(
        self,
        images,
        temperature: float = constants.ANNEALED_MEAN_TEMPERATURE,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ):
        """Colorizes one image, a list of images, or a batch `[N, H, W, C]`.

        Args:
            images: one image, a list of images, or a 4-D batch `[N, H, W, C]` (numpy or a
                `tf.Tensor`). An image is a file path (str or path-like), the encoded bytes of a
                file (JPEG, PNG, ...), a PIL image, or an array (numpy or `tf.Tensor`) `[H, W]` /
                `[H, W, 1]` (gray), `[H, W, 3]` (RGB) or `[H, W, 4]` (RGBA, alpha ignored),
                uint8 or float with values in [0, 1]. Only the lightness of colour inputs is
                used.
            temperature: annealed-mean temperature T > 0: lower is more saturated, 1 is the
                plain mean; the paper's 0.38 by default.
            batch_size: images per network call.

        Returns:
            For one image, uint8 RGB `[H, W, 3]` at its resolution; for a list, a list of those;
            for a batch, uint8 `[N, H, W, 3]`.

        Raises:
            TypeError: an unsupported image type or dtype (the message names the image's index).
            ValueError: an unsupported shape, float values outside [0, 1], a missing or
                unreadable file, a temperature <= 0 or a batch size < 1.

        Example:

        >>> import numpy as np
        >>> from keras_colorful import models
        >>> colorizer = Colorizer(models.build_model("tiny"), network_size=16)
        >>> len(colorizer.colorize([np.zeros((8, 8), "uint8")] * 3, batch_size=2))
        3
        >>> colorizer.colorize(np.zeros((2, 8, 8, 3), "uint8")).shape
        (2, 8, 8, 3)
        """
        temperature = bins.check_temperature(temperature)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}.")
        images = image_io.tensor_to_numpy(images)  # a tf.Tensor: an image or a batch
        if isinstance(images, np.ndarray) and images.ndim == 4:
            if not len(images):
                return np.zeros(images.shape[:3] + (3,), np.uint8)
            return np.stack(self.colorize(list(images), temperature, batch_size))
        single = isinstance(images, _SINGLE_IMAGE_TYPES)
        items = [images] if single else list(images)
        results: list[np.ndarray | None] = [None] * len(items)
        # Network size -> [(index, full-resolution L)] waiting for a full batch.
        pending: dict[tuple[int, int], list[tuple[int, np.ndarray]]] = {}
        for index, item in enumerate(items):
            rgb = image_io.to_rgb_array(item, index=None if single else index)
            size = pipeline.network_size_for(*rgb.shape[:2], self.network_size)
            self._warm_up(rgb.dtype, size)
            l_full = full_resolution.lightness(rgb)
            del rgb
            group = pending.setdefault(size, [])
            group.append((index, l_full))
            if len(group) == batch_size:
                self._colorize_group(pending.pop(size), size, temperature, results)
        for size, group in pending.items():
            self._colorize_group(group, size, temperature, results)
        return results[0] if single else results

    def _warm_up(self, rgb_dtype, size) -> None:
        """Once: compiles the full-resolution steps on a thread while the network is traced."""
        if self._warmed_up:
            return
        compiling = threading.Thread(target=full_resolution.warm_up, args=(rgb_dtype, size))
        compiling.start()
        try:
            if isinstance(self._predict, _KerasPredictor):
                self._predict.trace()
        finally:
            compiling.join()
        self._warmed_up = True

    def _colorize_group(self, group, size, temperature, results) -> None:
        """Runs images of one network size through the network and fills in `results`."""
        l_network = np.concatenate(
            [pipeline.preprocess_l(l_full[np.newaxis], size).numpy() for _, l_full in group]
        )
        ab_network = self._predict(l_network, temperature)
        for (index, l_full), ab in zip(group, ab_network, strict=True):
            results[index] = full_resolution.reconstruct_uint8(l_full, ab)

    def predict(
        self,
        x,
        batch_size: int = DEFAULT_BATCH_SIZE,
        temperature: float = constants.ANNEALED_MEAN_TEMPERATURE,
    ):
        """Keras-style `colorize`: `x` is a batch `[N, H, W, C]` (numpy or `tf.Tensor`) or a list.

        Returns uint8 RGB `[N, H, W, 3]` for a batch, a list of images for a list.

        Example:

        >>> from keras_colorful import models
        >>> colorizer = Colorizer(models.build_model("tiny"), network_size=16)
        >>> colorizer.predict(np.zeros((3, 8, 12, 1), "uint8"), batch_size=2).shape
        (3, 8, 12, 3)
        """
        return self.colorize(x, temperature=temperature, batch_size=batch_size)

    def predict_ab(
        self, l_full: np.ndarray, temperature: float = constants.ANNEALED_MEAN_TEMPERATURE
    ) -> np.ndarray:
        """The ab `colorize` predicts for one image, at the image's own resolution.

        Args:
            l_full: L in [0, 100], `[H, W, 1]` (e.g. `full_resolution.lightness(rgb)`).
            temperature: annealed-mean temperature.

        Returns:
            float32 ab `[H, W, 2]`.

        Example:

        >>> from keras_colorful import models
        >>> colorizer = Colorizer(models.build_model("tiny"), network_size=16)
        >>> colorizer.predict_ab(np.full((9, 7, 1), 50.0, "float32")).shape
        (9, 7, 2)
        """
        temperature = bins.check_temperature(temperature)
        height, width = l_full.shape[:2]
        size = pipeline.network_size_for(height, width, self.network_size)
        l_network = pipeline.preprocess_l(l_full[np.newaxis], size).numpy()
        ab_network = self._predict(l_network, temperature)[0]
        return pipeline.upsample_ab(ab_network, (height, width)).numpy()

    def colorize_file(
        self,
        path: str | os.PathLike,
        output_path: str | os.PathLike,
        side_by_side: bool = False,
        temperature: float = constants.ANNEALED_MEAN_TEMPERATURE,
    ) -> pathlib.Path:
        """Colorizes an image file and writes the result (folders are created).

        Args:
            path: the input image file.
            output_path: where to write (format from the extension; PNG is lossless).
            side_by_side: write gray | colorized (| original, if it had colour) instead.
            temperature: annealed-mean temperature.

        Returns:
            The path written.

        Raises:
            ValueError: a missing or unreadable input file.

        Example:

        >>> import tempfile, numpy as np
        >>> from keras_colorful import models
        >>> folder = tempfile.mkdtemp()
        >>> _ = image_io.write_image(folder + "/in.png", np.zeros((8, 8, 3), "uint8"))
        >>> colorizer = Colorizer(models.build_model("tiny"), network_size=16)
        >>> colorizer.colorize_file(folder + "/in.png", folder + "/out.png").name
        'out.png'
        """
        original = image_io.read_image(path)
        colorized = self.colorize(original, temperature=temperature)
        if side_by_side:
            colorized = full_resolution.comparison_grid(original, colorized)
        return image_io.write_image(output_path, colorized)
