"""Inference: the image-to-colorized-image pipeline and the Python `Colorizer` around it.

- `pipeline`: the pipeline as pure TensorFlow ops, written once; the exports and the training
  summaries use it too.
- `full_resolution`: its full-resolution steps, one photo at a time, in bounded memory.
- `colorizer.Colorizer`: photos (paths, PIL, numpy; any size) to uint8 RGB at full resolution.

`keras_colorful.load()` (`keras_colorful.loading`) builds a `Colorizer` from any model source.
"""

from keras_colorful.inference.colorizer import Colorizer

__all__ = ["Colorizer"]
