"""Tests of the SavedModel export: the serving contract as TF Serving sees it, size, CLI, client.

The reference is the Keras model run eagerly in this process, with the package's building
blocks (Lab, resize, net, annealed mean, `pipeline.reconstruct_rgb`) and Pillow decoding; the
exported model runs in a TensorFlow-only subprocess through the TF1 session loader
(tests/serving_contract_check.py) and through `saved_model_cli`. Tolerance: 1 uint8 level.
"""

import base64
import http.server
import io
import json
import os
import pathlib
import subprocess
import sys
import threading

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageOps

from export.serving import rest_client  # the stand-alone client example (needs no package)
from keras_colorful import bins, color, models
from keras_colorful.export import saved_model_lib
from keras_colorful.inference import pipeline
from tests import image_factory

REPO = pathlib.Path(__file__).resolve().parents[1]
NETWORK_SIZE = 32
TEMPERATURE = 0.38
ENV = dict(
    os.environ,
    TF_CPP_MIN_LOG_LEVEL="3",
    PYTHONPATH=os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(REPO)])),
)


def _start(args):
    """Starts a subprocess (several run at once: most of their time is importing TensorFlow)."""
    return subprocess.Popen(
        [str(arg) for arg in args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=REPO,
    )


def _finish(process, timeout=180):
    stdout, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr[-3000:]
    return stdout


def _reference(net, rgb_uint8, temperature=TEMPERATURE):
    """Keras model, eagerly: uint8 RGB [H, W, 3] -> (uint8 RGB [H, W, 3], ab quarter)."""
    rgb = tf.constant(rgb_uint8[np.newaxis], tf.float32) / 255.0
    l_full = color.rgb_to_lab(rgb)[..., :1]
    logits = net(pipeline.preprocess_l(l_full, NETWORK_SIZE), training=False)
    ab_quarter = bins.annealed_mean(logits, temperature)
    rgb_out = pipeline.reconstruct_rgb(l_full, ab_quarter)
    return np.round(rgb_out[0].numpy() * 255.0).astype(np.uint8), ab_quarter


def _max_difference(a, b):
    return int(np.max(np.abs(np.asarray(a, np.int32) - np.asarray(b, np.int32))))


def _encode(array, fmt):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, quality=95)
    return buffer.getvalue()


def _encode_with_orientation(array, fmt, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def _decode(data, upright=False):
    image = Image.open(io.BytesIO(data))
    if upright:
        image = ImageOps.exif_transpose(image)
    return np.asarray(image.convert("RGB"))


@pytest.fixture(scope="module")
def net(colourful_tiny_net):
    """A random "tiny" net whose temperature matters (see tests/conftest.py)."""
    return colourful_tiny_net(seed=0, logit_std=3.0)


@pytest.fixture(scope="module")
def exported(net, tmp_path_factory):
    path = tmp_path_factory.mktemp("colorizer") / "1"
    return saved_model_lib.export_saved_model(net, path, network_size=NETWORK_SIZE)


@pytest.fixture(scope="module")
def images():
    """Encoded test images of different sizes and kinds, and the RGB each decodes to."""
    color_rgb = image_factory.color_image(37, 53, seed=1)
    gray = image_factory.color_image(20, 44, seed=2)[..., 1]
    rgba = np.dstack([image_factory.color_image(16, 24, seed=3), np.full((16, 24), 90, "uint8")])
    jpeg = _encode(image_factory.color_image(40, 32, seed=4), "JPEG")
    # Photos stored sideways with an EXIF orientation: served upright, as the Python API reads
    # them (Pillow's `exif_transpose`).
    sideways = image_factory.color_image(24, 40, seed=9)
    png_turned = _encode_with_orientation(sideways, "PNG", 6)
    jpeg_turned = _encode_with_orientation(sideways, "JPEG", 8)
    encoded = {
        "png_rgb": _encode(color_rgb, "PNG"),
        "png_gray": image_factory.png_bytes(gray),
        "png_rgba": image_factory.png_bytes(rgba),
        "jpeg": jpeg,
        "png_exif_orientation_6": png_turned,
        "jpeg_exif_orientation_8": jpeg_turned,
    }
    decoded = {
        "png_rgb": color_rgb,
        "png_gray": np.repeat(gray[..., None], 3, axis=-1),
        "png_rgba": rgba[..., :3],
        "jpeg": tf.io.decode_jpeg(jpeg, channels=3).numpy(),  # libjpeg-turbo, as TF Serving
        "png_exif_orientation_6": _decode(png_turned, upright=True),
        "jpeg_exif_orientation_8": np.rot90(tf.io.decode_jpeg(jpeg_turned, channels=3).numpy()),
    }
    return encoded, decoded


@pytest.fixture(scope="module")
def cli_image():
    return image_factory.color_image(8, 16, seed=8)


@pytest.fixture(scope="module")
def subprocesses(exported, images, cli_image, tmp_path_factory):
    """Runs, at once: every request of the contract in a TensorFlow-only subprocess (session
    loader), `saved_model_cli show --all` and `run`, and the export CLI on a preset."""
    encoded, _ = images
    batch = np.array(list(encoded.values()), dtype=object)
    rgb_batch = np.stack([image_factory.color_image(24, 40, seed=s) for s in (5, 6)])
    gray_batch = image_factory.color_image(16, 16, seed=7)[np.newaxis, ..., :1]
    requests = {
        "bytes/serving_default/image_bytes": batch,
        "bytes_t/serving_default_with_temperature/image_bytes": batch[:2],
        "bytes_t/serving_default_with_temperature/temperature": np.array([1.0, 0.2], "float32"),
        "rgb/colorize_tensor/images": rgb_batch,
        "gray/colorize_tensor/images": gray_batch,
        "rgb_t/colorize_tensor_with_temperature/images": rgb_batch,
        "rgb_t/colorize_tensor_with_temperature/temperature": np.array([2.0], "float32"),
    }
    directory = tmp_path_factory.mktemp("subprocesses")
    np.savez(directory / "requests.npz", **requests)
    cli_output = directory / "colorizer" / "1"
    processes = {
        "contract": _start([sys.executable, REPO / "tests" / "serving_contract_check.py",
                            exported, directory / "requests.npz", directory / "results.npz"]),
        "show": _start(["saved_model_cli", "show", "--all", "--dir", exported]),
        "run": _start(["saved_model_cli", "run", "--dir", exported, "--tag_set", "serve",
                       "--signature_def", "colorize_tensor",
                       "--input_exprs", f"images={[cli_image.tolist()]}",
                       "--outdir", directory / "cli_run"]),
        "export_cli": _start([sys.executable, REPO / "export" / "saved_model.py",
                              "--preset=tiny", f"--output={cli_output}", "--network_size=16"]),
    }
    outputs = {name: _finish(process) for name, process in processes.items()}
    with np.load(directory / "results.npz", allow_pickle=True) as results:
        return {
            "requests": requests,
            "results": dict(results),
            "show": outputs["show"],
            "run_rgb": np.load(directory / "cli_run" / "rgb.npy"),
            "export_cli": (outputs["export_cli"], cli_output),
        }


@pytest.fixture(scope="module")
def served(subprocesses):
    return subprocesses["requests"], subprocesses["results"]


def test_serving_default_bytes_match_keras(net, images, served):
    encoded, decoded = images
    _, results = served
    pngs = results["bytes/colorized_png_bytes"]
    assert len(pngs) == len(encoded)
    for i, name in enumerate(encoded):
        expected, _ = _reference(net, decoded[name])
        height, width = decoded[name].shape[:2]
        assert (results["bytes/height"][i], results["bytes/width"][i]) == (height, width)
        actual = _decode(pngs[i])
        assert actual.shape == (height, width, 3), name
        assert _max_difference(actual, expected) <= 1, name
    # A random net still colours: the output is not gray.
    colorized = _decode(pngs[0]).astype(np.int32)
    assert np.abs(colorized[..., 0] - colorized[..., 2]).max() > 2


def test_serving_default_with_temperature(net, images, served):
    _, decoded = images
    _, results = served
    pngs = results["bytes_t/colorized_png_bytes"]
    for png, name, temperature in zip(pngs, ["png_rgb", "png_gray"], [1.0, 0.2], strict=True):
        expected, _ = _reference(net, decoded[name], temperature)
        assert _max_difference(_decode(png), expected) <= 1, name
    default = _decode(results["bytes/colorized_png_bytes"][0])
    assert _max_difference(_decode(pngs[0]), default) > 1  # the temperature was used


@pytest.mark.parametrize("request_id", ["rgb", "gray", "rgb_t"])
def test_colorize_tensor_matches_keras(net, served, request_id):
    requests, results = served
    signature = "colorize_tensor" + ("_with_temperature" if request_id.endswith("_t") else "")
    inputs = requests[f"{request_id}/{signature}/images"]
    temperature = 2.0 if request_id.endswith("_t") else TEMPERATURE
    rgb, ab = results[f"{request_id}/rgb"], results[f"{request_id}/ab"]
    assert rgb.dtype == np.uint8 and rgb.shape == inputs.shape[:3] + (3,)
    assert ab.dtype == np.float32 and ab.shape == inputs.shape[:3] + (2,)
    for i, image in enumerate(inputs):
        expected_rgb, ab_quarter = _reference(net, np.repeat(image, 3 // image.shape[-1], -1),
                                              temperature)
        assert _max_difference(rgb[i], expected_rgb) <= 1
        ab_net = pipeline.upsample_ab(ab_quarter, (NETWORK_SIZE, NETWORK_SIZE))
        expected_ab = pipeline.upsample_ab(ab_net, image.shape[:2])[0]
        np.testing.assert_allclose(ab[i], expected_ab, atol=1e-3)


def test_saved_model_cli_show_and_run(net, subprocesses, cli_image):
    shown = subprocesses["show"]
    for name in ["serving_default", "serving_default_with_temperature", "colorize_tensor",
                 "colorize_tensor_with_temperature"]:
        assert f"signature_def['{name}']" in shown
    for key in ["inputs['image_bytes']", "outputs['colorized_png_bytes']", "outputs['height']",
                "inputs['images']", "outputs['rgb']", "outputs['ab']", "inputs['temperature']"]:
        assert key in shown
    # `saved_model_cli run --signature_def colorize_tensor --input_exprs images=[...]`
    expected, _ = _reference(net, cli_image)
    rgb = subprocesses["run_rgb"]
    assert rgb.shape == (1, 8, 16, 3) and rgb.dtype == np.uint8
    assert _max_difference(rgb[0], expected) <= 1


def test_weights_stored_once(tmp_path):
    net = models.build_model("small")
    path = saved_model_lib.export_saved_model(net, tmp_path / "1", network_size=NETWORK_SIZE)
    size = saved_model_lib.directory_bytes(path)
    parameters = saved_model_lib.parameter_bytes(net)
    assert parameters > 7_000_000  # "small": ~2 M float32 weights
    assert size <= 1.1 * parameters + 2**20, (size, parameters)


def test_export_refuses_bad_arguments(net, exported, tmp_path):
    with pytest.raises(FileExistsError, match="not empty"):
        saved_model_lib.export_saved_model(net, exported)
    ab_model = models.build_inference_model(net)
    with pytest.raises(ValueError, match="313"):
        saved_model_lib.export_saved_model(ab_model, tmp_path / "a")
    with pytest.raises(ValueError, match="multiples of 8"):
        saved_model_lib.export_saved_model(net, tmp_path / "b", network_size=30)
    with pytest.raises(ValueError, match="temperature"):
        saved_model_lib.export_saved_model(net, tmp_path / "c", temperature=0.0)


def test_cli_exports_a_preset(subprocesses):
    stdout, output = subprocesses["export_cli"]
    assert (output / "saved_model.pb").is_file()
    assert (output / "variables" / "variables.index").is_file()
    assert f"SavedModel written to {output}" in stdout


def test_rest_client_against_local_server(images, served):
    """The client's request and answer handling against a server that answers like TF Serving
    (row format, `_bytes` outputs base64-encoded) with the SavedModel's real output."""
    encoded, _ = images
    _, results = served
    sent = [encoded["png_rgb"], encoded["jpeg"]]
    canned = {key: results["bytes/colorized_png_bytes"][i] for i, key in enumerate(encoded)}
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((self.path, body))
            images_in = [base64.b64decode(i["image_bytes"]["b64"]) for i in body["instances"]]
            names = [next(k for k, v in encoded.items() if v == data) for data in images_in]
            answer = {"predictions": [
                {"colorized_png_bytes": {"b64": base64.b64encode(canned[n]).decode()},
                 "height": 1, "width": 1} for n in names]}
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        pngs = rest_client.predict(url, "colorizer", sent)
        pngs_t = rest_client.predict(url, "colorizer", sent[:1], temperature=0.5)
    finally:
        server.shutdown()
        server.server_close()
    assert pngs == [canned["png_rgb"], canned["jpeg"]]
    assert pngs_t == [canned["png_rgb"]]
    path, body = received[0]
    assert path == "/v1/models/colorizer:predict"
    assert body["signature_name"] == "serving_default"
    assert set(body["instances"][0]) == {"image_bytes"}
    _, body_t = received[1]
    assert body_t["signature_name"] == "serving_default_with_temperature"
    assert body_t["instances"] == [
        {"image_bytes": {"b64": base64.b64encode(sent[0]).decode()}, "temperature": 0.5}
    ]
    with pytest.raises(RuntimeError, match="boom"):
        rest_client.parse_response({"error": "boom"})
