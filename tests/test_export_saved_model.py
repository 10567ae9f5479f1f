"""Tests of the SavedModel export: the serving contract as TF Serving sees it, size, CLI, clients.

The reference is the Keras model run eagerly in this process, with the package's building
blocks (Lab, resize, net, annealed mean, `pipeline.reconstruct_rgb`) and Pillow decoding; the
exported model runs in a TensorFlow-only subprocess through the TF1 session loader
(tests/serving_contract_check.py, which first replays the warm-up file as TF Serving does) and
through `saved_model_cli`. Tolerance: 1 uint8 level. The robustness cases are recreated there: a
PNG whose header declares more pixels than the cap, a large PNG (peak memory), a batch with one
bad image. The gRPC client runs against an in-process gRPC server that answers with the
SavedModel's signatures (no TF Serving binary here).
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
import zlib
from concurrent import futures

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageOps

from export.serving import grpc_client, rest_client  # the client examples (no package needed)
from keras_colorful import bins, color, models
from keras_colorful.export import saved_model_lib, version_dir, warmup
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


def _gray_png(height, width, row=None):
    """A valid 8-bit gray PNG of any size, built row by row (no image in memory)."""
    row = np.zeros(width, np.uint8) if row is None else row
    raw = (b"\x00" + row.tobytes()) * height  # filter byte 0, then the row
    def chunk(kind, data):
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))


# Over the default cap of 50 MP (8000 x 7000 = 56 MP), about 60 KB; and 24 MP under it.
HUGE = (7000, 8000)
LARGE = (4000, 6000)
MAX_PEAK_MB_LARGE = 600  # the whole-image conversions rose by about 1.1 GB for this PNG


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
    huge = _gray_png(*HUGE)
    large = _gray_png(*LARGE, row=np.arange(LARGE[1], dtype=np.uint8))
    requests = {
        "bytes/serving_default/image_bytes": batch,
        "jpeg/serving_jpeg/image_bytes": batch[:3],
        "huge/serving_default/image_bytes": np.array([huge], dtype=object),
        "large/serving_jpeg/image_bytes": np.array([large], dtype=object),
        "bad_batch/serving_default/image_bytes": np.array([encoded["png_rgb"], b"no image"],
                                                          dtype=object),
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
                              "--preset=tiny", f"--output={cli_output}", "--network_size=16",
                              "--max_pixels=1000"]),
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
    for name in saved_model_lib.ColorizerModule.signature_names():
        assert f"signature_def['{name}']" in shown
    for key in ["inputs['image_bytes']", "outputs['colorized_png_bytes']", "outputs['height']",
                "outputs['colorized_jpeg_bytes']",
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
    with pytest.raises(ValueError, match="numeric version folder"):
        saved_model_lib.export_saved_model(net, tmp_path / "colorizer")
    ab_model = models.build_inference_model(net)
    with pytest.raises(ValueError, match="313"):
        saved_model_lib.export_saved_model(ab_model, tmp_path / "a" / "1")
    with pytest.raises(ValueError, match="multiples of 8"):
        saved_model_lib.export_saved_model(net, tmp_path / "b" / "1", network_size=30)
    with pytest.raises(ValueError, match="temperature"):
        saved_model_lib.export_saved_model(net, tmp_path / "c" / "1", temperature=0.0)
    with pytest.raises(ValueError, match="max_pixels"):
        saved_model_lib.export_saved_model(net, tmp_path / "d" / "1", max_pixels=0)
    assert not [p for p in tmp_path.rglob("*") if p.name == "1"]


def test_version_folder_is_written_whole(tmp_path):
    version = tmp_path / "colorizer" / "3"

    def killed(folder):
        (pathlib.Path(folder) / "saved_model.pb").write_bytes(b"half")
        raise KeyboardInterrupt  # the export dies half-way

    with pytest.raises(KeyboardInterrupt):
        version_dir.write_version(version, killed)
    assert list(version.parent.iterdir()) == []  # no version, no leftovers
    version_dir.write_version(version, lambda f: (pathlib.Path(f) / "a").write_text("old"))
    with pytest.raises(FileExistsError):
        version_dir.write_version(version, lambda f: (pathlib.Path(f) / "b").write_text("new"))
    assert [p.name for p in version.iterdir()] == ["a"]  # kept without overwrite
    version_dir.write_version(version, lambda f: (pathlib.Path(f) / "b").write_text("new"),
                              overwrite=True)
    assert [p.name for p in version.iterdir()] == ["b"]
    assert [p.name for p in version.parent.iterdir()] == ["3"]


def test_cli_exports_a_preset(subprocesses):
    stdout, output = subprocesses["export_cli"]
    assert (output / "saved_model.pb").is_file()
    assert (output / "variables" / "variables.index").is_file()
    assert f"SavedModel written to {output}" in stdout


def test_serving_jpeg_is_the_png_image(images, served):
    encoded, _ = images
    _, results = served
    jpegs, pngs = results["jpeg/colorized_jpeg_bytes"], results["bytes/colorized_png_bytes"]
    assert len(jpegs) == 3
    for jpeg, png in zip(jpegs, pngs[:3], strict=False):
        # The PNG's pixels, JPEG-encoded at the export's quality.
        pixels = tf.io.decode_png(png, channels=3)
        expected = tf.io.encode_jpeg(pixels, quality=saved_model_lib.DEFAULT_JPEG_QUALITY)
        assert jpeg == expected.numpy()


def test_pixel_cap_refuses_an_oversized_header(served):
    _, results = served
    message = str(results["huge/error"])
    height, width = HUGE
    assert f"{height}x{width}" in message
    assert str(saved_model_lib.DEFAULT_MAX_PIXELS) in message
    assert "huge/colorized_png_bytes" not in results


def test_large_png_in_bounded_memory(served):
    _, results = served
    height, width = LARGE
    assert (results["large/height"][0], results["large/width"][0]) == (height, width)
    assert _decode(results["large/colorized_jpeg_bytes"][0]).shape == (height, width, 3)
    peak = float(results["large/peak_mb"])
    assert np.isnan(peak) or peak < MAX_PEAK_MB_LARGE, peak


def test_one_bad_image_fails_the_whole_batch(served):
    _, results = served
    assert "bad_batch/error" in results
    assert "bad_batch/colorized_png_bytes" not in results


def test_pixel_cap_of_the_tensor_signatures(net):
    module = saved_model_lib.ColorizerModule(net, network_size=16, max_pixels=100)
    module.colorize_tensor(np.zeros((1, 10, 10, 1), np.uint8))
    with pytest.raises(tf.errors.InvalidArgumentError, match="11x10 = 110 pixels"):
        module.colorize_tensor(np.zeros((1, 11, 10, 1), np.uint8))


def test_warmup_file_replayed(exported, served):
    _, results = served
    requests = warmup.read_requests(exported)  # parsed with tensorflow-serving-api
    assert sorted(name for name, _ in requests) == sorted(
        saved_model_lib.ColorizerModule.signature_names())
    assert int(results["warmup/count"]) == len(requests)
    for index, (name, _) in enumerate(requests):
        key = {"serving_default": "colorized_png_bytes", "serving_jpeg": "colorized_jpeg_bytes",
               "colorize_tensor": "rgb"}[name.removesuffix("_with_temperature")]
        assert f"warmup/{index}/{key}" in results


def _prediction_service(path):
    """A gRPC PredictionService answering with the SavedModel's signatures, as TF Serving."""
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    loaded = tf.saved_model.load(str(path))

    class Service(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):  # noqa: N802 (the gRPC method's name)
            signature = loaded.signatures[request.model_spec.signature_name]
            inputs = {key: tf.constant(tf.make_ndarray(value))
                      for key, value in request.inputs.items()}
            try:
                outputs = signature(**inputs)
            except tf.errors.InvalidArgumentError as error:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, error.message)
            response = predict_pb2.PredictResponse()
            response.model_spec.CopyFrom(request.model_spec)
            for key, value in outputs.items():
                response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
            return response

    return Service()


def test_grpc_client_against_the_signatures(exported, images, served):
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    encoded, _ = images
    _, results = served
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        _prediction_service(exported), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        address = f"127.0.0.1:{port}"
        pngs = grpc_client.predict(address, "colorizer", [encoded["png_rgb"], encoded["jpeg"]])
        jpegs = grpc_client.predict(address, "colorizer", [encoded["png_rgb"]],
                                    temperature=1.0, image_format="jpeg")
        mixed = grpc_client.predict_each(address, "colorizer",
                                         [encoded["png_rgb"], b"no image", encoded["jpeg"]])
    finally:
        server.stop(None)
    expected = results["bytes/colorized_png_bytes"]
    assert _max_difference(_decode(pngs[0]), _decode(expected[0])) <= 1
    assert _max_difference(_decode(pngs[1]), _decode(expected[3])) <= 1
    assert jpegs[0][:2] == b"\xff\xd8"
    assert isinstance(mixed[1], rest_client.ImageError) and mixed[1].index == 1
    assert "INVALID_ARGUMENT" in str(mixed[1])
    assert [type(m) for m in (mixed[0], mixed[2])] == [bytes, bytes]
    request = grpc_client.build_request([b"x"], temperature=0.5, image_format="jpeg")
    assert request.model_spec.signature_name == "serving_jpeg_with_temperature"
    assert list(request.inputs["temperature"].float_val) == [0.5]


def test_rest_client_against_local_server(images, served):
    """The client's request and answer handling against a server that answers like TF Serving
    (row format, `_bytes` outputs base64-encoded, HTTP 400 for a refused batch) with the
    SavedModel's real output."""
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
            names = [next((k for k, v in encoded.items() if v == data), None)
                     for data in images_in]
            if None in names:  # TF Serving: the whole request fails
                status, answer = 400, {"error": "Invalid argument: not an image"}
            else:
                output = ("colorized_jpeg_bytes" if body["signature_name"].startswith(
                    "serving_jpeg") else "colorized_png_bytes")
                status, answer = 200, {"predictions": [
                    {output: {"b64": base64.b64encode(canned[n]).decode()},
                     "height": 1, "width": 1} for n in names]}
            data = json.dumps(answer).encode()
            self.send_response(status)
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
        jpegs = rest_client.predict(url, "colorizer", sent[:1], image_format="jpeg")
        mixed = rest_client.predict_each(url, "colorizer", [sent[0], b"no image", sent[1]])
    finally:
        server.shutdown()
        server.server_close()
    assert pngs == [canned["png_rgb"], canned["jpeg"]]
    assert pngs_t == jpegs == [canned["png_rgb"]]
    path, body = received[0]
    assert path == "/v1/models/colorizer:predict"
    assert body["signature_name"] == "serving_default"
    assert set(body["instances"][0]) == {"image_bytes"}
    _, body_t = received[1]
    assert body_t["signature_name"] == "serving_default_with_temperature"
    assert body_t["instances"] == [
        {"image_bytes": {"b64": base64.b64encode(sent[0]).decode()}, "temperature": 0.5}
    ]
    assert received[2][1]["signature_name"] == "serving_jpeg"
    # The refused batch, then each image alone: the bad one is named.
    assert [type(m) for m in mixed] == [bytes, rest_client.ImageError, bytes]
    assert mixed[1].index == 1 and "HTTP 400" in str(mixed[1])
    assert len(received) == 3 + 1 + 3
    with pytest.raises(RuntimeError, match="boom"):
        rest_client.parse_response({"error": "boom"})
