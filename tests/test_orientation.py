"""Tests of keras_colorful.data.orientation: EXIF orientation read and applied by TensorFlow ops
as Pillow's `ImageOps.exif_transpose` applies it (the reference), for JPEG, PNG and WebP."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageOps

from keras_colorful.data import decode, orientation
from tests import image_factory

ORIENTATION_TAG = 0x0112


def _encode(array, fmt, orientation_value=None):
    options = {"lossless": True} if fmt == "WEBP" else {"quality": 95} if fmt == "JPEG" else {}
    if orientation_value is not None:
        exif = Image.Exif()
        exif[ORIENTATION_TAG] = orientation_value
        options["exif"] = exif.tobytes()
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
@pytest.mark.parametrize("value", range(1, 9))
def test_lossless_formats_match_pillow_exactly(fmt, value):
    array = image_factory.color_image(5, 7, seed=value)
    data = _encode(array, fmt, value)
    assert int(orientation.exif_orientation(data)) == value
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    actual = orientation.apply_exif_orientation(decode.decode_rgb(data), data).numpy()
    np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("value", range(1, 9))
def test_jpeg_orientation_is_read_and_applied_as_pillow_does(value):
    array = image_factory.color_image(16, 24, seed=value)
    data = _encode(array, "JPEG", value)
    assert int(orientation.exif_orientation(data)) == value
    # Pillow's and TensorFlow's JPEG decoders differ by a few levels: turn TensorFlow's pixels
    # with Pillow, given the file's EXIF.
    pixels = decode.decode_rgb(data).numpy().astype(np.uint8)
    image = Image.fromarray(pixels)
    image.info["exif"] = Image.open(io.BytesIO(data)).info["exif"]
    expected = np.asarray(ImageOps.exif_transpose(image))
    actual = orientation.apply_exif_orientation(decode.decode_rgb(data), data).numpy()
    np.testing.assert_array_equal(actual, expected)


def test_files_without_exif_or_not_images_are_upright():
    array = image_factory.color_image(6, 9, seed=0)
    for data in (_encode(array, "PNG"), _encode(array, "JPEG"), _encode(array, "WEBP"),
                 b"", b"\xff\xd8", b"not an image at all", b"\xff\xd8\xff\xe1\x00"):
        assert int(orientation.exif_orientation(data)) == 1


def test_works_inside_a_tf_function_on_unknown_shapes():
    array = image_factory.color_image(4, 6, seed=1)
    data = _encode(array, "PNG", 6)

    @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
    def upright(contents):
        return orientation.apply_exif_orientation(decode.decode_rgb(contents), contents)

    assert upright(tf.constant(data)).shape == (6, 4, 3)
