r"""A small REST client for the colorizer served by TF Serving (standard library only).

`python export/serving/rest_client.py photo.jpg old.png --server=http://localhost:8501
--model=colorizer --output_dir=colorized/ [--temperature=0.5] [--format=jpeg]`

Posts the images to `<server>/v1/models/<model>:predict` in TF Serving's row format,
`{"instances": [{"image_bytes": {"b64": "..."}}]}` (signature `serving_default`, or
`serving_jpeg` for JPEGs; with `--temperature`, their `_with_temperature` twin and a
`temperature` per instance), decodes the base64 image of each answer (`colorized_png_bytes` or
`colorized_jpeg_bytes`) and writes `<output_dir>/<name>_colorized.png` (or `.jpg`): each through a
temporary file renamed into place, never over an input, and over an existing output only with
`--overwrite` (clashes are refused before anything is sent).

A batch is all or nothing: if one image cannot be colorized (not an image, over the model's pixel
cap) the server refuses the whole request. `predict_each` then sends the images one by one, so
the good ones come back and the bad ones are named; the command line exits with status 1 if any
image failed. See export/serving/README.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

# The SavedModel's serving contract (keras_colorful.export.saved_model_lib).
SIGNATURES = {"png": "serving_default", "jpeg": "serving_jpeg"}
WITH_TEMPERATURE_SUFFIX = "_with_temperature"
IMAGE_BYTES = "image_bytes"
OUTPUTS = {"png": "colorized_png_bytes", "jpeg": "colorized_jpeg_bytes"}
EXTENSIONS = {"png": ".png", "jpeg": ".jpg"}


class ImageError(RuntimeError):
    """The server refused one image (`index` in the request, `message` its answer)."""

    def __init__(self, index: int, message: str):
        super().__init__(f"image {index}: {message}")
        self.index = index
        self.message = message


def build_request(images: Sequence[bytes], temperature: float | None = None,
                  image_format: str = "png") -> dict:
    r"""The JSON body (as a dict) of a predict request for encoded images.

    Args:
        images: encoded JPEG/PNG/... files, any sizes.
        temperature: None for the model's default (0.38), else the annealed-mean temperature
            for every image (uses the signature's `_with_temperature` twin).
        image_format: "png" (signature `serving_default`) or "jpeg" (`serving_jpeg`).

    Returns:
        A dict to serialise with `json.dumps`.

    Example:

    >>> build_request([b"\xff\xd8"])
    {'signature_name': 'serving_default', 'instances': [{'image_bytes': {'b64': '/9g='}}]}
    """
    signature = signature_name(images, image_format, temperature)
    instances = []
    for image in images:
        if not isinstance(image, bytes | bytearray):
            raise TypeError(f"images must be bytes (file contents), got {type(image).__name__}.")
        instance = {IMAGE_BYTES: {"b64": base64.b64encode(image).decode("ascii")}}
        if temperature is not None:
            instance["temperature"] = float(temperature)
        instances.append(instance)
    return {"signature_name": signature, "instances": instances}


def signature_name(images: Sequence, image_format: str, temperature: float | None) -> str:
    """The signature a request for `images` calls; checks what both clients' requests need.

    >>> signature_name([b"x"], "jpeg", 0.5)
    'serving_jpeg_with_temperature'
    """
    if not images:
        raise ValueError("build_request needs at least one image.")
    if image_format not in SIGNATURES:
        raise ValueError(f"image_format must be one of {sorted(SIGNATURES)}, got {image_format!r}.")
    if temperature is not None and not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}.")
    return SIGNATURES[image_format] + ("" if temperature is None else WITH_TEMPERATURE_SUFFIX)


def parse_response(body: dict, image_format: str = "png") -> list[bytes]:
    r"""The image files of a predict answer, in request order.

    Args:
        body: the parsed JSON answer: `{"predictions": [{"colorized_png_bytes": {"b64": ...},
            "height": ..., "width": ...}, ...]}` (row format), or `{"outputs": {...}}`
            (columnar format).
        image_format: "png" or "jpeg", as requested.

    Returns:
        The PNG (or JPEG) bytes of each image.

    Raises:
        RuntimeError: the server answered with an error.
        ValueError: an answer without the expected PNG output.

    Example:

    >>> parse_response({"predictions": [{"colorized_png_bytes": {"b64": "iVBORw=="}, "height": 1}]})
    [b'\x89PNG']
    """
    output = OUTPUTS[image_format]
    if "error" in body:
        raise RuntimeError(f"The server answered with an error: {body['error']}")
    if "predictions" in body:
        encoded = [prediction.get(output) for prediction in body["predictions"]]
    elif "outputs" in body and output in body["outputs"]:
        encoded = body["outputs"][output]
    else:
        raise ValueError(f"No {output!r} in the answer (keys: {sorted(body)}).")
    if any(not isinstance(image, dict) or "b64" not in image for image in encoded):
        raise ValueError(f"Expected {output!r} as {{'b64': ...}} objects in the answer.")
    return [base64.b64decode(image["b64"]) for image in encoded]


def predict(
    server: str,
    model: str,
    images: Sequence[bytes],
    temperature: float | None = None,
    timeout: float = 120.0,
    image_format: str = "png",
) -> list[bytes]:
    """Posts the images to TF Serving's REST predict endpoint; returns the colorized images.

    Args:
        server: e.g. "http://localhost:8501".
        model: the model name given to the server (`--model_name`, models.config `name`).
        images: encoded image files.
        temperature: None for the model's default, else the temperature for every image.
        timeout: seconds.
        image_format: "png" or "jpeg", the answer's encoding.

    Returns:
        The colorized PNG (or JPEG) bytes of each image.

    Raises:
        RuntimeError: an HTTP error or an error answer (with the server's message), for the
            whole batch (see `predict_each`).
    """
    url = f"{server.rstrip('/')}/v1/models/{model}:predict"
    data = json.dumps(build_request(images, temperature, image_format)).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body = json.loads(answer.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        raise RuntimeError(
            f"{url} answered HTTP {error.code}: {error.read().decode('utf-8', 'replace')}"
        ) from error
    return parse_response(body, image_format)


def one_by_one_on_failure(send, images: Sequence[bytes]) -> list[bytes | ImageError]:
    """`send(images)`; if the batch is refused (RuntimeError), `send([image])` for each image.

    Returns:
        For each image, its colorized bytes or its `ImageError`.
    """
    try:
        return list(send(images))
    except RuntimeError as error:
        if len(images) == 1:
            return [ImageError(0, str(error))]
    results: list[bytes | ImageError] = []
    for index, image in enumerate(images):
        try:
            results.extend(send([image]))
        except RuntimeError as error:
            results.append(ImageError(index, str(error)))
    return results


def predict_each(server: str, model: str, images: Sequence[bytes],
                 **options) -> list[bytes | ImageError]:
    """`predict`, surviving bad images (`one_by_one_on_failure`): bytes or `ImageError` each."""
    return one_by_one_on_failure(lambda batch: predict(server, model, batch, **options), images)


def main(argv: Sequence[str] | None = None) -> int:
    return client_main(argv, __doc__.splitlines()[0], "http://localhost:8501", predict_each)


def client_main(argv: Sequence[str] | None, description: str, default_server: str,
                predict_each_fn) -> int:
    """The command line of both clients: read the images, `predict_each_fn`, write the results."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("images", nargs="+", help="image files to colorize")
    parser.add_argument("--server", default=default_server)
    parser.add_argument("--model", default="colorizer", help="model name on the server")
    parser.add_argument("--output_dir", default="colorized")
    parser.add_argument("--temperature", type=float, default=None)
    parser.add_argument("--format", default="png", choices=sorted(SIGNATURES))
    parser.add_argument("--overwrite", action="store_true",
                        help="replace outputs that exist (never an input)")
    args = parser.parse_args(argv)
    try:
        outputs = output_paths(args.images, args.output_dir, args.format, args.overwrite)
    except FileExistsError as error:
        parser.error(str(error))
    contents = []
    for path in args.images:
        with open(path, "rb") as file:
            contents.append(file.read())
    results = predict_each_fn(args.server, args.model, contents, temperature=args.temperature,
                              image_format=args.format)
    return write_results(args.images, results, outputs)


def output_paths(paths: Sequence[str], output_dir: str, image_format: str,
                 overwrite: bool = False) -> list[str]:
    """`<output_dir>/<name>_colorized.<ext>` for each image, checked before anything is sent.

    Raises:
        FileExistsError: two images would share an output, an output is one of the images, or
            an output exists and `overwrite` is False (each named).
    """
    outputs = [os.path.join(output_dir, os.path.splitext(os.path.basename(path))[0]
                            + "_colorized" + EXTENSIONS[image_format]) for path in paths]
    inputs = {os.path.realpath(path) for path in paths}
    seen = {}
    for path, output in zip(paths, outputs, strict=True):
        if output in seen:
            raise FileExistsError(f"{seen[output]} and {path} would both be written to {output}")
        seen[output] = path
        if os.path.realpath(output) in inputs:
            raise FileExistsError(f"{output} is an input image; it is never written over")
        if os.path.exists(output) and not overwrite:
            raise FileExistsError(f"{output} exists; pass --overwrite to replace it")
    return outputs


def write_results(paths: Sequence[str], results: Sequence, outputs: Sequence[str]) -> int:
    """Writes each colorized image to its output (`output_paths`), each through a temporary file
    renamed into place, so a crash never leaves half an image; names the failures.

    Returns:
        0, or 1 if some image failed (each named on stderr).
    """
    status = 0
    for path, result, output in zip(paths, results, outputs, strict=True):
        if isinstance(result, Exception):
            print(f"{path}: not colorized: {result}", file=sys.stderr)
            status = 1
            continue
        os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
        partial = f"{output}.partial-{os.getpid()}"
        try:
            with open(partial, "wb") as file:
                file.write(result)
            os.replace(partial, output)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        print(output)
    return status


if __name__ == "__main__":
    sys.exit(main())
