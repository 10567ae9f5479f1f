"""keras-colorful: Colorful Image Colorization (Zhang, Isola, Efros, ECCV 2016) in Keras 3.

Importing the package does nothing heavy: submodules (and TensorFlow) load on first use. Its
Keras classes are registered as soon as Keras is imported (now, if it already is; otherwise right
after `import keras`), so `keras.models.load_model("runs/a/model.keras")` works after a plain
`import keras_colorful`.

Example:
>>> import keras_colorful
>>> keras_colorful.__version__
'0.1.0'
>>> sorted(keras_colorful.list_presets())
['default', 'eccv16']
"""

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

__version__ = "0.1.0"

_API = {"load": "loading", "list_presets": "loading", "Colorizer": "inference"}


def __getattr__(name):
    if name in _API:
        return getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _register_keras_classes() -> None:
    """Imports the modules that register the package's Keras classes (models, loss, trainer)."""
    try:
        for module in ("models", "losses", "training.training_model"):
            importlib.import_module(f"{__name__}.{module}")
    except Exception as error:  # never break the user's `import keras`
        warnings.warn(f"keras_colorful could not register its Keras classes: {error}",
                      stacklevel=2)


class _RegisterAfterKerasImport(importlib.abc.MetaPathFinder):
    """Registers the package's Keras classes right after `keras` itself is imported, once."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)  # find the real `keras` with the other finders
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            _register_keras_classes()

        spec.loader.exec_module = exec_module
        return spec


if "keras" in sys.modules:
    _register_keras_classes()
elif not any(isinstance(finder, _RegisterAfterKerasImport) for finder in sys.meta_path):
    sys.meta_path.insert(0, _RegisterAfterKerasImport())
