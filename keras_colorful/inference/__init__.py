"""Colorize photos from Python: `load()` a model, then `Colorizer.colorize()` images.

- `loading.load(source)`: the default model, a `.keras` file, a SavedModel, released weights.
- `colorizer.Colorizer`: images (paths, PIL, numpy; any size) to uint8 RGB at full resolution.
- `processing`: the full-resolution pre- and post-processing, in bounded memory.

Example:

>>> import numpy as np
>>> from keras_colorful import models
>>> colorizer = Colorizer(models.build_model("tiny"), network_size=32)
>>> colorizer.colorize(np.zeros((33, 51), "uint8")).shape
(33, 51, 3)
"""

from keras_colorful.inference.colorizer import Colorizer
from keras_colorful.inference.loading import DEFAULT_MODEL_PATH, RELEASED_WEIGHTS, load

__all__ = ["Colorizer", "DEFAULT_MODEL_PATH", "RELEASED_WEIGHTS", "load"]
