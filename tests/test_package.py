"""The package: nothing heavy on import, the public names resolve, package data is shipped."""

import subprocess
import sys

import keras_colorful


def test_import_does_not_load_tensorflow():
    code = "import sys, keras_colorful; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_public_api_resolves_lazily():
    assert callable(keras_colorful.load)
    assert keras_colorful.Colorizer.__name__ == "Colorizer"
    assert keras_colorful.bins.ab_bin_centers().shape == (313, 2)
    try:
        keras_colorful.no_such_module  # noqa: B018
    except AttributeError as error:
        assert "no_such_module" in str(error)
    else:
        raise AssertionError("unknown attribute did not raise")


def test_demo_photos_are_package_data():
    from keras_colorful import demo

    photos = demo.demo_photos()
    assert [p.rsplit("/", 1)[-1] for p in photos] == [
        "ansel_adams.jpg", "ansel_adams2.jpg", "ansel_adams3.jpg"]


_KERAS_AFTER = """
import sys
import keras_colorful
assert "keras" not in sys.modules
import keras
net = keras.models.load_model(sys.argv[1])
print(type(net).__name__, net.output_shape[-1])
"""
_KERAS_BEFORE = """
import sys
import keras
import keras_colorful
net = keras.models.load_model(sys.argv[1])
print(type(net).__name__, net.output_shape[-1])
"""


def test_keras_load_model_works_after_a_plain_import(tmp_path, tiny_net):
    """`keras.models.load_model` finds the package's classes once `keras_colorful` is imported,
    whether Keras is imported after it or before it (each in a fresh process)."""
    path = tmp_path / "model.keras"
    tiny_net.save(path)
    for code in (_KERAS_AFTER, _KERAS_BEFORE):
        result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                                text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.split()[-2:] == ["ColorizationNet", "313"]
    # Without keras_colorful, Keras cannot find the class: the test above is not vacuous.
    plain = subprocess.run([sys.executable, "-c", "import sys, keras; keras.models.load_model("
                            "sys.argv[1])", str(path)], capture_output=True, text=True,
                           timeout=300, check=False)
    assert plain.returncode != 0 and "ColorizationNet" in plain.stderr


def test_presets_are_listed_from_python():
    presets = keras_colorful.list_presets()
    assert set(presets) == {"default", "eccv16"}
    assert all(isinstance(text, str) and text for text in presets.values())
