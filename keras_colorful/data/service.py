"""Offloading the input pipeline to a `tf.data` service: dispatcher, workers, and the client side.

Decoding and cropping JPEGs can starve the accelerators of a host. A `tf.data` service runs that
work on other machines: one dispatcher and any number of workers (`scripts/data_service.py`), and
the trainers read finished batches over gRPC. The trainer builds its pipeline as usual and hands
it to `distribute`, which sends the graph to the dispatcher; the workers run it.

Processing modes (`tf.data.experimental.service.distribute`):
- "distributed_epoch" (default): the dispatcher splits the source (the file list) between the
  service workers, so each image is processed once per epoch however many workers there are.
- "parallel_epochs": every service worker runs the whole pipeline; with a fixed seed, N workers
  then produce the same images N times. Use it only with one service worker or an unseeded run.

All trainers of a multi-worker job join one named job (`job_name`), so each batch goes to exactly
one trainer; their datasets get `AutoShardPolicy.OFF` (tf.distribute must not shard further).

Example:
    >>> from keras_colorful.data import service
    >>> dispatcher = service.start_dispatcher()
    >>> worker = service.start_worker(dispatcher.target)
    >>> import tensorflow as tf
    >>> remote = service.distribute(tf.data.Dataset.range(5), dispatcher.target)
    >>> sorted(int(x) for x in remote.as_numpy_iterator())
    [0, 1, 2, 3, 4]
"""

from __future__ import annotations

import tensorflow as tf

from keras_colorful import constants


def _address(service: str) -> str:
    if not isinstance(service, str) or not service:
        raise ValueError(f"The data service address must be 'grpc://host:port', got {service!r}.")
    return service if "://" in service else f"grpc://{service}"


def _host_port(service: str) -> str:
    return _address(service).split("://", 1)[1]


def distribute(
    dataset: tf.data.Dataset,
    service: str,
    *,
    processing_mode: str = "distributed_epoch",
    job_name: str | None = None,
) -> tf.data.Dataset:
    """Runs `dataset` on the tf.data service at `service` and reads its elements from there.

    Args:
        dataset: the pipeline to offload (its graph must only hold TensorFlow ops, no
            `py_function`; the pipelines of `pipeline.make_dataset` qualify).
        service: dispatcher address, "grpc://host:port" (or "host:port").
        processing_mode: one of `constants.DATA_SERVICE_MODES`, "distributed_epoch" or
            "parallel_epochs" (see the module docstring).
        job_name: consumers that pass the same name share one job (each element is read by one
            of them); None gives this consumer a job of its own.

    Returns:
        The dataset of elements read from the service, with `AutoShardPolicy.OFF`.

    Raises:
        ValueError: for an unknown processing mode or an empty address.
    """
    if processing_mode not in constants.DATA_SERVICE_MODES:
        raise ValueError(
            f"processing_mode must be one of {constants.DATA_SERVICE_MODES}, "
            f"got {processing_mode!r}."
        )
    remote = dataset.apply(
        tf.data.experimental.service.distribute(
            processing_mode=processing_mode, service=_address(service), job_name=job_name
        )
    )
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return remote.with_options(options).prefetch(tf.data.AUTOTUNE)


def start_dispatcher(
    port: int = 0, work_dir: str | None = None, fault_tolerant: bool = False
) -> tf.data.experimental.service.DispatchServer:
    """Starts a dispatcher in this process (port 0: any free port; see `.target`).

    Args:
        port: the gRPC port.
        work_dir: where the dispatcher journals its state (needed for `fault_tolerant`).
        fault_tolerant: recover jobs from `work_dir` after a dispatcher restart.
    """
    config = tf.data.experimental.service.DispatcherConfig(
        port=port, work_dir=work_dir, fault_tolerant_mode=fault_tolerant
    )
    return tf.data.experimental.service.DispatchServer(config)


def start_worker(
    dispatcher: str, port: int = 0, worker_address: str | None = None
) -> tf.data.experimental.service.WorkerServer:
    """Starts a tf.data service worker in this process, registered with `dispatcher`.

    Args:
        dispatcher: the dispatcher's address ("grpc://host:port" or "host:port").
        port: this worker's gRPC port (0: any free port).
        worker_address: the "host:port" trainers use to reach this worker; default
            "localhost:<port>", so give this machine's name when trainers run elsewhere
            ("%port%" stands for the port).
    """
    config = tf.data.experimental.service.WorkerConfig(
        dispatcher_address=_host_port(dispatcher), port=port, worker_address=worker_address
    )
    return tf.data.experimental.service.WorkerServer(config)
