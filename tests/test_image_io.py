"""Tests of keras_colorful.image_io: numpy / PIL / file inputs to RGB, writing, grids."""

import numpy as np
import pytest
from PIL import Image

from keras_colorful import image_io
from tests import image_factory


def _rgb(height=6, width=5, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


# --- to_rgb_array: numpy arrays -------------------------------------------------------------


def test_uint8_rgb_is_returned_unchanged():
    rgb = _rgb()
    out = image_io.to_rgb_array(rgb)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, rgb)


@pytest.mark.parametrize("shape", [(7, 9), (7, 9, 1)])
def test_gray_arrays_are_repeated_to_three_channels(shape):
    gray = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    out = image_io.to_rgb_array(gray)
    assert out.shape == (7, 9, 3)
    for channel in range(3):
        np.testing.assert_array_equal(out[..., channel], gray.reshape(7, 9))


def test_rgba_drops_alpha():
    rgba = np.random.default_rng(2).integers(0, 256, (4, 3, 4), dtype=np.uint8)
    np.testing.assert_array_equal(image_io.to_rgb_array(rgba), rgba[..., :3])


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_float_inputs_stay_float32_in_unit_range(dtype):
    values = np.random.default_rng(3).uniform(0.0, 1.0, (5, 4, 3)).astype(dtype)
    values[0, 0] = [0.0, 1.0, 0.5]
    out = image_io.to_rgb_array(values)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, values.astype(np.float32), rtol=0, atol=0)


@pytest.mark.parametrize(
    "image, error, words",
    [
        (np.zeros((4, 4, 3), np.int32), TypeError, ["int32", "uint8"]),
        (np.zeros((4, 4, 3), np.uint16), TypeError, ["uint16"]),
        (np.zeros((4, 4, 3), bool), TypeError, ["bool"]),
        (np.zeros((4, 4, 2), np.uint8), ValueError, ["shape", "(4, 4, 2)"]),
        (np.zeros((2, 4, 4, 3), np.uint8), ValueError, ["shape", "(2, 4, 4, 3)"]),
        (np.zeros((5,), np.uint8), ValueError, ["shape"]),
        (np.zeros((0, 4, 3), np.uint8), ValueError, ["empty"]),
        (np.full((4, 4, 3), 1.5, np.float32), ValueError, ["[0, 1]", "1.5"]),
        (np.full((4, 4), -0.25, np.float64), ValueError, ["[0, 1]", "-0.25"]),
        (np.full((4, 4, 3), np.nan, np.float32), ValueError, ["NaN"]),
        ([[0, 1], [1, 0]], TypeError, ["list"]),
        (3.0, TypeError, ["float"]),
    ],
)
def test_bad_arrays_raise_naming_the_problem_and_index(image, error, words):
    with pytest.raises(error) as raised:
        image_io.to_rgb_array(image, index=7)
    message = str(raised.value)
    assert message.startswith("image 7:")
    for word in words:
        assert word in message


def test_single_image_errors_have_no_index():
    with pytest.raises(ValueError, match=r"^image: "):
        image_io.to_rgb_array(np.zeros((4, 4, 5), np.uint8))


# --- PIL images and files --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "P"])
def test_pil_images_of_common_modes(mode):
    rgb = _rgb(8, 10)
    pil = Image.fromarray(rgb).convert(mode)
    out = image_io.to_rgb_array(pil)
    assert out.shape == (8, 10, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.asarray(pil.convert("RGB")))


def test_pil_16_bit_gray_is_scaled_to_8_bits():
    deep = np.random.default_rng(4).integers(0, 65536, (6, 7)).astype(np.uint16)
    pil = Image.fromarray(deep)
    assert pil.mode.startswith("I;16")
    out = image_io.to_rgb_array(pil)
    np.testing.assert_array_equal(out[..., 1], np.round(deep / 257.0).astype(np.uint8))


def test_read_odd_but_valid_files(tmp_path):
    for kind, (path, expected) in image_factory.write_odd_images(tmp_path).items():
        out = image_io.read_image(path)
        assert out.dtype == np.uint8 and out.shape == expected.shape, kind
        difference = np.abs(out.astype(int) - expected.astype(int))
        if kind == "jpeg_upper":  # lossy, chroma-subsampled: compare on average
            assert difference.mean() < 3.0, kind
        else:
            # Pillow truncates 16-bit RGB PNGs (value >> 8) where round(v / 257) is expected:
            # one level at most. Everything else is exact.
            assert difference.max() <= (1 if kind == "png16" else 0), kind
        # to_rgb_array takes the path, as str and as pathlib.Path.
        np.testing.assert_array_equal(image_io.to_rgb_array(str(path)), out)


def test_read_16_bit_gray_png(tmp_path):
    deep = np.random.default_rng(5).integers(0, 65536, (5, 6)).astype(np.uint16)
    path = tmp_path / "deep_gray.png"
    path.write_bytes(image_factory.png_bytes(deep))
    np.testing.assert_array_equal(
        image_io.read_image(path)[..., 0], np.round(deep / 257.0).astype(np.uint8)
    )


def test_read_applies_exif_orientation(tmp_path):
    rgb = _rgb(4, 10)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    path = tmp_path / "rotated.png"
    Image.fromarray(rgb).save(path, exif=exif)
    out = image_io.read_image(path)
    np.testing.assert_array_equal(out, np.rot90(rgb, k=-1))


def test_bad_files_raise_value_error_naming_the_file(tmp_path):
    for path in image_factory.write_bad_files(tmp_path).values():
        with pytest.raises(ValueError, match=path.name):
            image_io.read_image(path)
        with pytest.raises(ValueError, match=rf"^image 2: .*{path.name}"):
            image_io.to_rgb_array(path, index=2)
    with pytest.raises(ValueError, match="No such image file.*missing.png"):
        image_io.read_image(tmp_path / "missing.png")


# --- writing and grids -----------------------------------------------------------------------


def test_write_then_read_png_round_trips(tmp_path):
    rgb = _rgb(9, 11)
    path = image_io.write_image(tmp_path / "new" / "folder" / "out.png", rgb)
    assert path.is_file()
    np.testing.assert_array_equal(image_io.read_image(path), rgb)
    for level in (0, 1, 9):
        path = image_io.write_image(tmp_path / f"level{level}.png", rgb, png_compression=level)
        np.testing.assert_array_equal(image_io.read_image(path), rgb)
    with pytest.raises(ValueError, match="png_compression must be from 0 to 9, got 10"):
        image_io.write_image(tmp_path / "x.png", rgb, png_compression=10)


def test_write_rejects_non_uint8_rgb(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        image_io.write_image(tmp_path / "x.png", np.zeros((3, 3, 3), np.float32))
    with pytest.raises(ValueError, match="uint8"):
        image_io.write_image(tmp_path / "x.png", np.zeros((3, 3), np.uint8))


def test_side_by_side_layout():
    left, right = _rgb(5, 3, seed=1), _rgb(5, 4, seed=2)
    grid = image_io.side_by_side([left, right], gap=2)
    assert grid.shape == (5, 9, 3)
    np.testing.assert_array_equal(grid[:, :3], left)
    np.testing.assert_array_equal(grid[:, 3:5], image_io.GAP_VALUE)
    np.testing.assert_array_equal(grid[:, 5:], right)
    np.testing.assert_array_equal(image_io.side_by_side([left], gap=2), left)


def test_side_by_side_rejects_bad_panels():
    with pytest.raises(ValueError, match="height"):
        image_io.side_by_side([_rgb(5, 3), _rgb(6, 3)])
    with pytest.raises(ValueError, match="Panel 1"):
        image_io.side_by_side([_rgb(5, 3), np.zeros((5, 3, 3), np.float32)])
    with pytest.raises(ValueError, match="at least one"):
        image_io.side_by_side([])


# --- hostile files ---------------------------------------------------------------------------


def test_a_decompression_bomb_is_refused_before_decoding(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(image_factory.png_header_only(13500, 13500))
    assert bomb.stat().st_size < 200
    # Beyond Pillow's own limit (178,956,970 pixels) Pillow refuses it first; the message says both.
    with pytest.raises(ValueError, match=r"bomb\.png.*cap of 100,000,000.*182250000 pixels"):
        image_io.read_image(bomb)
    below_pillow = tmp_path / "below.png"
    below_pillow.write_bytes(image_factory.png_header_only(12000, 12000))
    with pytest.raises(ValueError, match=r"below\.png.*12000x12000.*cap of 100,000,000"):
        image_io.read_image(below_pillow)
    with pytest.raises(ValueError, match=r"below\.png.*cap of 1,000"):
        image_io.read_image(below_pillow, max_pixels=1000)
    huge = tmp_path / "huge.png"  # beyond Pillow's own limit too
    huge.write_bytes(image_factory.png_header_only(30000, 30000))
    with pytest.raises(ValueError, match=r"huge\.png"):
        image_io.read_image(huge, max_pixels=None)
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((40, 30, 3), np.uint8)).save(small)
    with pytest.raises(ValueError, match=r"40 = 1,200 pixels, above the cap of 1,000"):
        image_io.read_image(small, max_pixels=1000)
    assert image_io.read_image(small, max_pixels=1200).shape == (40, 30, 3)


def test_only_image_formats_are_opened(tmp_path, monkeypatch):
    import subprocess

    calls = []
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: calls.append(a) or 1 / 0)
    monkeypatch.setattr(subprocess, "check_call", lambda *a, **k: calls.append(a) or 1 / 0)
    postscript = tmp_path / "photo.jpg"
    postscript.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    with pytest.raises(ValueError, match=r"photo\.jpg.*not one of JPEG, PNG, BMP, GIF, WEBP, TIFF"):
        image_io.read_image(postscript)
    assert calls == []  # Ghostscript was never started
    tiff = tmp_path / "scan.tif"
    rgb = np.random.default_rng(0).integers(0, 256, (6, 9, 3), np.uint8)
    Image.fromarray(rgb).save(tiff)
    np.testing.assert_array_equal(image_io.read_image(tiff), rgb)
    assert ".tif" in image_io.READABLE_EXTENSIONS and ".tiff" in image_io.READABLE_EXTENSIONS
