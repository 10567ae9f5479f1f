"""keras-colorful: Colorful Image Colorization (Zhang, Isola, Efros, ECCV 2016) in Keras 3.

Importing the package does nothing heavy: submodules (and TensorFlow) load on first use.

Example:
>>> import keras_colorful
>>> keras_colorful.__version__
'0.1.0'
"""

import importlib
import importlib.util

__version__ = "0.1.0"

_API = {"load": "loading", "Colorizer": "inference"}


def __getattr__(name):
    if name in _API:
        return getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
