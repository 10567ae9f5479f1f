"""The bundled default model: small, loads with `keras_colorful.load()`, and adds colour."""

import numpy as np
from PIL import Image
from skimage import color as skcolor

import keras_colorful
from keras_colorful import demo, loading

MAX_BUNDLED_BYTES = 15 * 2**20


def test_bundled_model_is_small_and_loads():
    assert loading.DEFAULT_MODEL_PATH.is_file()
    assert loading.DEFAULT_MODEL_PATH.stat().st_size <= MAX_BUNDLED_BYTES
    net = loading.load_network()
    assert net.output_shape[-1] == 313


def test_bundled_model_colorizes_a_black_and_white_photo():
    photo = Image.open(demo.demo_photos()[0]).convert("L")
    photo = np.asarray(photo.resize((photo.width // 4, photo.height // 4)))
    result = keras_colorful.load().colorize(photo)
    assert result.shape == photo.shape + (3,) and result.dtype == np.uint8
    lab = skcolor.rgb2lab(result)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    assert chroma.mean() > 3.0  # a gray output has chroma ~0
    # L is the photo's own, up to uint8 rounding; where a predicted colour is out of the sRGB
    # gamut, clipping moves L too (measured: 0.2% of the pixels, by up to 4 units).
    l_error = np.abs(lab[..., 0] - skcolor.rgb2lab(np.repeat(photo[..., None], 3, -1))[..., 0])
    assert np.percentile(l_error, 99) < 1.0 and l_error.mean() < 0.5
