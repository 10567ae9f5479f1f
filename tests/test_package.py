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
