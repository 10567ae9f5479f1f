"""The Colorizer's full-resolution path as it was before the speed work, for before/after ratios.

What `inference.full_resolution` and the Colorizer's network function did before (kept here so
that the benchmarks can time both in the same run): L from the whole Lab conversion, chunks of
`min(MAX_PIXELS_PER_CHUNK, pixels)` (a compile per photo size below it) run one after another,
ab resized to the photo's size whole (a float32 `[H, W, 2]` array) before Lab to RGB, the
network's `tf.function` traced with autograph, everything compiled on first use.

`patch_colorizer()` puts this behaviour into `keras_colorful.inference.colorizer` (start-up
"before"); `colorize(colorizer, image)` is the old `Colorizer.colorize` of one image.

Example:

>>> import numpy as np
>>> lightness(np.full((2, 3, 3), 255, "uint8")).shape
(2, 3, 1)
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import numpy as np
import tensorflow as tf

from keras_colorful import color, constants, image_io
from keras_colorful.inference import colorizer as colorizer_lib
from keras_colorful.inference import full_resolution, pipeline

MAX_PIXELS_PER_CHUNK = full_resolution.MAX_PIXELS_PER_CHUNK


@functools.cache
def _compiled(function):
    return tf.function(function, jit_compile=True)


def _lightness_of(rgb):
    return pipeline.lightness(rgb)


def _rgb_of(l_full, ab):
    return pipeline.to_uint8(color.lab_to_rgb(tf.concat([l_full, ab], axis=-1)))


def _by_chunks(function, inputs, channels: int, dtype, max_pixels: int) -> np.ndarray:
    height, width = inputs[0].shape[:2]
    count = height * width
    flat = [np.ascontiguousarray(x).reshape(count, x.shape[-1]) for x in inputs]
    result = np.empty((count, channels), dtype)
    chunk = min(max_pixels, count) if count else 1
    compiled = _compiled(function)
    for start in range(0, count, chunk):
        stop = min(start + chunk, count)
        pieces = [x[start:stop] for x in flat]
        if stop - start < chunk:
            pieces = [np.concatenate([p, np.zeros((chunk - len(p), p.shape[1]), p.dtype)])
                      for p in pieces]
        result[start:stop] = compiled(*pieces).numpy()[: stop - start]
    return result.reshape(height, width, channels)


def lightness(rgb: np.ndarray, max_pixels: int = MAX_PIXELS_PER_CHUNK) -> np.ndarray:
    """L float32 `[H, W, 1]` as before: the whole Lab conversion, then its first channel."""
    rgb = rgb if rgb.dtype == np.uint8 else rgb.astype(np.float32, copy=False)
    return _by_chunks(_lightness_of, [rgb], 1, np.float32, max_pixels)


def reconstruct_uint8(l_full, ab_network, max_pixels: int = MAX_PIXELS_PER_CHUNK) -> np.ndarray:
    """uint8 RGB as before: ab resized to L's size whole, then Lab to RGB by chunks."""
    height, width = l_full.shape[:2]
    ab = pipeline.upsample_ab(ab_network, (height, width)).numpy()
    inputs = [np.asarray(l_full, np.float32), np.asarray(ab, np.float32)]
    return _by_chunks(_rgb_of, inputs, 3, np.uint8, max_pixels)


class KerasPredictor:
    """The Colorizer's network function as before (autograph on)."""

    def __init__(self, net):
        self.net = net

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 1], tf.float32),
                                      tf.TensorSpec([], tf.float32)])
        def predict(l_network, temperature):
            return pipeline.upsample_to(pipeline.predict_ab(net, l_network, temperature))

        self._predict = predict

    def __call__(self, l_network, temperature):
        return self._predict(tf.constant(l_network), tf.constant(temperature, tf.float32)).numpy()


def colorize(colorizer, image, temperature=constants.ANNEALED_MEAN_TEMPERATURE) -> np.ndarray:
    """The old `Colorizer.colorize` of one image, with `colorizer`'s network and size."""
    if not hasattr(colorizer, "_baseline_predict"):
        colorizer._baseline_predict = KerasPredictor(colorizer.model)
    rgb = image_io.to_rgb_array(image)
    l_full = lightness(rgb)
    del rgb
    size = pipeline.network_size_for(*l_full.shape[:2], colorizer.network_size)
    l_network = pipeline.preprocess_l(l_full[np.newaxis], size).numpy()
    ab_network = colorizer._baseline_predict(l_network, temperature)
    return reconstruct_uint8(l_full, ab_network[0])


class _FullResolution:
    """What the Colorizer uses of `full_resolution`, with the old functions."""

    lightness = staticmethod(lightness)
    reconstruct_uint8 = staticmethod(reconstruct_uint8)

    def __getattr__(self, name):
        return getattr(full_resolution, name)


@contextlib.contextmanager
def patch_colorizer() -> Iterator[None]:
    """`keras_colorful.inference.colorizer` with the old full-resolution path and network
    function, and no warm-up (everything compiles when first used)."""
    saved = (colorizer_lib.full_resolution, colorizer_lib._KerasPredictor,
             colorizer_lib.Colorizer._warm_up)
    colorizer_lib.full_resolution = _FullResolution()
    colorizer_lib._KerasPredictor = KerasPredictor
    colorizer_lib.Colorizer._warm_up = lambda self, rgb_dtype, size: None
    try:
        yield
    finally:
        (colorizer_lib.full_resolution, colorizer_lib._KerasPredictor,
         colorizer_lib.Colorizer._warm_up) = saved
