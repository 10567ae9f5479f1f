"""Tests of what the SavedModel reads before and instead of whole images: the size in an encoded
image's header, the 8-bit PNG decode, and the pipeline's banded full-resolution steps."""

import io
import struct

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_colorful.data import decode, image_header
from keras_colorful.inference import pipeline, pipeline_by_bands
from tests import image_factory


def _encode(array, fmt, **options):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


FORMATS = {
    "jpeg": ("JPEG", {}),
    "png": ("PNG", {}),
    "gif": ("GIF", {}),
    "bmp": ("BMP", {}),
    "webp_lossy": ("WEBP", {"quality": 80}),  # "VP8 " chunk
    "webp_lossless": ("WEBP", {"lossless": True}),  # "VP8L"
    "webp_extended": ("WEBP", {"exif": b"Exif\x00\x00II*\x00"}),  # "VP8X"
}


@pytest.mark.parametrize("kind", sorted(FORMATS))
@pytest.mark.parametrize("height, width", [(37, 53), (300, 17)])
def test_size_from_the_header(kind, height, width):
    fmt, options = FORMATS[kind]
    data = _encode(image_factory.color_image(height, width, seed=1), fmt, **options)
    assert [int(v) for v in image_header.image_size(data)] == [height, width]
    decoded = tf.io.decode_image(data, channels=3, expand_animations=False)
    assert tuple(decoded.shape[:2]) == (height, width)


def test_top_down_bmp_and_unknown_bytes():
    data = bytearray(_encode(image_factory.color_image(6, 9, seed=2), "BMP"))
    data[22:26] = struct.pack("<i", -6)  # a top-down bitmap stores a negative height
    assert [int(v) for v in image_header.image_size(bytes(data))] == [6, 9]
    for junk in [b"", b"GIF", b"not an image at all"]:
        assert [int(v) for v in image_header.image_size(junk)] == [-1, -1]


def test_size_inside_a_graph():
    sizes = tf.function(lambda data: tf.stack(image_header.image_size(data)))
    png = _encode(np.zeros((4000, 7, 3), np.uint8), "PNG")
    assert sizes(tf.constant(png)).numpy().tolist() == [4000, 7]


@pytest.mark.parametrize("mode, bits", [("RGB", 8), ("L", 8), ("P", 8), ("RGBA", 8), ("P", 4),
                                        ("1", 1)])
def test_8_bit_pngs_decode_as_before(mode, bits):
    image = Image.fromarray(image_factory.color_image(20, 30, seed=4)).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **({"bits": bits} if mode == "P" else {}))
    data = buffer.getvalue()
    assert not bool(decode.is_16_bit_png(data))
    at_16_bits = tf.cast(decode.decode_uint16_png(data), tf.float32) / 257.0  # the former way
    np.testing.assert_array_equal(decode.decode_rgb(data), at_16_bits)


def test_16_bit_png_keeps_its_precision():
    values = np.random.default_rng(5).integers(0, 65536, (8, 9, 3)).astype(np.uint16)
    data = tf.io.encode_png(values).numpy()
    assert bool(decode.is_16_bit_png(data))
    np.testing.assert_allclose(decode.decode_rgb(data), values / 257.0, rtol=1e-6)


def test_banded_steps_equal_the_whole_image_ones():
    rgb = image_factory.color_image(61, 47, seed=6)
    ab_quarter = tf.constant(np.random.default_rng(7).normal(0, 30, (16, 16, 2)), tf.float32)
    l_whole = pipeline.lightness(rgb)
    l_bands = pipeline_by_bands.lightness_by_bands(tf.constant(rgb), band_pixels=500)
    np.testing.assert_allclose(l_bands, l_whole, atol=1e-4)
    whole = pipeline.to_uint8(pipeline.reconstruct_rgb(l_whole[None], ab_quarter[None]))[0]
    bands = pipeline_by_bands.reconstruct_uint8_by_bands(l_whole, ab_quarter, band_pixels=500)
    assert np.abs(bands.numpy().astype(int) - whole.numpy()).max() <= 1
    sixteen = tf.constant(rgb.astype(np.uint16) * 257)
    np.testing.assert_allclose(pipeline_by_bands.lightness_by_bands(sixteen, 500), l_whole, atol=1e-3)
