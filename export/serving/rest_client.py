r"""A small REST client for the colorizer served by TF Serving (standard library only).

`python export/serving/rest_client.py photo.jpg old.png --server=http://localhost:8501
--model=colorizer --output_dir=colorized/ [--temperature=0.5]`

Posts the images to `<server>/v1/models/<model>:predict` in TF Serving's row format,
`{"instances": [{"image_bytes": {"b64": "..."}}]}` (signature `serving_default`; with
`--temperature`, signature `serving_default_with_temperature` and a `temperature` per instance),
decodes the base64 PNG of each answer (`colorized_png_bytes`) and writes
`<output_dir>/<name>_colorized.png`. See export/serving/README.md.
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
SERVING_DEFAULT = "serving_default"
WITH_TEMPERATURE = "serving_default_with_temperature"
IMAGE_BYTES = "image_bytes"
COLORIZED_PNG = "colorized_png_bytes"


def build_request(images: Sequence[bytes], temperature: float | None = None) -> dict:
    r"""The JSON body (as a dict) of a predict request for encoded images.

    Args:
        images: encoded JPEG/PNG/... files, any sizes.
        temperature: None for the model's default (0.38), else the annealed-mean temperature
            for every image (uses the `serving_default_with_temperature` signature).

    Returns:
        A dict to serialise with `json.dumps`.

    Example:

    >>> build_request([b"\xff\xd8"])
    {'signature_name': 'serving_default', 'instances': [{'image_bytes': {'b64': '/9g='}}]}
    """
    if not images:
        raise ValueError("build_request needs at least one image.")
    instances = []
    for image in images:
        if not isinstance(image, bytes | bytearray):
            raise TypeError(f"images must be bytes (file contents), got {type(image).__name__}.")
        instance = {IMAGE_BYTES: {"b64": base64.b64encode(image).decode("ascii")}}
        if temperature is not None:
            if not temperature > 0:
                raise ValueError(f"temperature must be > 0, got {temperature}.")
            instance["temperature"] = float(temperature)
        instances.append(instance)
    signature = SERVING_DEFAULT if temperature is None else WITH_TEMPERATURE
    return {"signature_name": signature, "instances": instances}


def parse_response(body: dict) -> list[bytes]:
    r"""The PNG files of a predict answer, in request order.

    Args:
        body: the parsed JSON answer: `{"predictions": [{"colorized_png_bytes": {"b64": ...},
            "height": ..., "width": ...}, ...]}` (row format), or `{"outputs": {...}}`
            (columnar format).

    Returns:
        The PNG bytes of each image.

    Raises:
        RuntimeError: the server answered with an error.
        ValueError: an answer without the expected PNG output.

    Example:

    >>> parse_response({"predictions": [{"colorized_png_bytes": {"b64": "iVBORw=="}, "height": 1}]})
    [b'\x89PNG']
    """
    if "error" in body:
        raise RuntimeError(f"The server answered with an error: {body['error']}")
    if "predictions" in body:
        pngs = [prediction.get(COLORIZED_PNG) for prediction in body["predictions"]]
    elif "outputs" in body and COLORIZED_PNG in body["outputs"]:
        pngs = body["outputs"][COLORIZED_PNG]
    else:
        raise ValueError(f"No {COLORIZED_PNG!r} in the answer (keys: {sorted(body)}).")
    if any(not isinstance(png, dict) or "b64" not in png for png in pngs):
        raise ValueError(f"Expected {COLORIZED_PNG!r} as {{'b64': ...}} objects in the answer.")
    return [base64.b64decode(png["b64"]) for png in pngs]


def predict(
    server: str,
    model: str,
    images: Sequence[bytes],
    temperature: float | None = None,
    timeout: float = 120.0,
) -> list[bytes]:
    """Posts the images to TF Serving's REST predict endpoint; returns the PNGs.

    Args:
        server: e.g. "http://localhost:8501".
        model: the model name given to the server (`--model_name`, models.config `name`).
        images: encoded image files.
        temperature: None for the model's default, else the temperature for every image.
        timeout: seconds.

    Returns:
        The colorized PNG bytes of each image.

    Raises:
        RuntimeError: an HTTP error or an error answer (with the server's message).
    """
    url = f"{server.rstrip('/')}/v1/models/{model}:predict"
    data = json.dumps(build_request(images, temperature)).encode("utf-8")
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
    return parse_response(body)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+", help="image files to colorize")
    parser.add_argument("--server", default="http://localhost:8501")
    parser.add_argument("--model", default="colorizer", help="model name on the server")
    parser.add_argument("--output_dir", default="colorized")
    parser.add_argument("--temperature", type=float, default=None)
    args = parser.parse_args(argv)
    contents = []
    for path in args.images:
        with open(path, "rb") as file:
            contents.append(file.read())
    pngs = predict(args.server, args.model, contents, args.temperature)
    os.makedirs(args.output_dir, exist_ok=True)
    for path, png in zip(args.images, pngs, strict=True):
        name = os.path.splitext(os.path.basename(path))[0] + "_colorized.png"
        with open(os.path.join(args.output_dir, name), "wb") as file:
            file.write(png)
        print(os.path.join(args.output_dir, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
