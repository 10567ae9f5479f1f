r"""A gRPC client for the colorizer served by TF Serving (`tensorflow-serving-api`, `grpcio`).

`python export/serving/grpc_client.py photo.jpg old.png --server=localhost:8500
--model=colorizer --output_dir=colorized/ [--temperature=0.5] [--format=jpeg]`

Sends one `PredictRequest` to TF Serving's gRPC port (8500): a string tensor `image_bytes` of
the encoded files (signature `serving_default`, or `serving_jpeg`; with `--temperature`, their
`_with_temperature` twin and a float32 `temperature` of shape `[1]`), and writes the images of
the answer (`colorized_png_bytes` or `colorized_jpeg_bytes`). gRPC carries the bytes as they
are: no base64, and none of the REST API's JSON.

A batch is all or nothing (export/README.md): `predict_each` retries the images one by one when
the server refuses a batch, to colorize the good ones and name the bad ones (exit status 1).
Needs `pip install tensorflow-serving-api` (it brings grpcio). See export/serving/README.md.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

try:  # imported from the repository root (tests) or run as a script from this folder
    from export.serving import rest_client
except ImportError:
    import rest_client

IMAGE_BYTES = rest_client.IMAGE_BYTES
TEMPERATURE = "temperature"


def build_request(images: Sequence[bytes], model: str = "colorizer",
                  temperature: float | None = None, image_format: str = "png"):
    """A `tensorflow.serving.PredictRequest` for encoded images.

    Args:
        images: encoded JPEG/PNG/... files, any sizes.
        model: the model name on the server.
        temperature: None for the model's default, else the temperature for every image.
        image_format: "png" (signature `serving_default`) or "jpeg" (`serving_jpeg`).
    """
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = rest_client.signature_name(images, image_format,
                                                                   temperature)

    def tensor(dtype, values, field):
        proto = tensor_pb2.TensorProto(
            dtype=dtype, tensor_shape=tensor_shape_pb2.TensorShapeProto(
                dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=len(values))]))
        getattr(proto, field).extend(values)
        return proto

    request.inputs[IMAGE_BYTES].CopyFrom(tensor(types_pb2.DT_STRING, list(images), "string_val"))
    if temperature is not None:
        request.inputs[TEMPERATURE].CopyFrom(
            tensor(types_pb2.DT_FLOAT, [float(temperature)], "float_val"))
    return request


def parse_response(response, image_format: str = "png") -> list[bytes]:
    """The colorized images of a `PredictResponse`, in request order."""
    output = rest_client.OUTPUTS[image_format]
    if output not in response.outputs:
        raise ValueError(f"No {output!r} in the answer (outputs: {sorted(response.outputs)}).")
    return list(response.outputs[output].string_val)


def predict(server: str, model: str, images: Sequence[bytes], temperature: float | None = None,
            image_format: str = "png", timeout: float = 120.0) -> list[bytes]:
    """Sends the images to TF Serving's gRPC Predict; returns the colorized images.

    Args:
        server: "host:port", e.g. "localhost:8500".
        model, images, temperature, image_format: see `build_request`.
        timeout: seconds.

    Raises:
        RuntimeError: the server refused the request (its status and message), for the whole
            batch (see `predict_each`).
    """
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    request = build_request(images, model, temperature, image_format)
    with grpc.insecure_channel(server) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        try:
            response = stub.Predict(request, timeout=timeout)
        except grpc.RpcError as error:
            raise RuntimeError(f"{server} answered {error.code().name}: {error.details()}") from error
    return parse_response(response, image_format)


def predict_each(server: str, model: str, images: Sequence[bytes], **options) -> list:
    """`predict`, surviving bad images: for each image its bytes or a `rest_client.ImageError`."""
    return rest_client.one_by_one_on_failure(
        lambda batch: predict(server, model, batch, **options), images)


def main(argv: Sequence[str] | None = None) -> int:
    return rest_client.client_main(argv, __doc__.splitlines()[0], "localhost:8500", predict_each)


if __name__ == "__main__":
    sys.exit(main())
