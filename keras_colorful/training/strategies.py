"""Which `tf.distribute` strategy a run uses, and which worker of a cluster writes the outputs.

- "auto": `TPUStrategy` when a TPU address is given; `MultiWorkerMirroredStrategy` when the
  `TF_CONFIG` environment variable names a cluster of more than one task; otherwise
  `MirroredStrategy` over the local GPUs (or the CPU).
- "mirrored", "multi_worker", "tpu", "one_device": that strategy, whatever the environment says.

In a multi-worker job every worker runs the same program and saves (checkpoints and the final
model take part in collective ops), but only the chief writes to `model_dir`; the others write to
`model_dir/workertemp_<task id>` and delete it at the end (TensorFlow's multi-worker Keras
pattern). `TPUStrategy` is a code path only: it is not exercised by this project's tests.

Example:
>>> from keras_colorful.training import strategies
>>> strategies.resolve_name("auto", environ={})
'mirrored'
>>> cluster = '{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}'
>>> strategies.resolve_name("auto", environ={"TF_CONFIG": cluster})
'multi_worker'
>>> strategies.is_chief_task("worker", 1, {"worker": ["a:1", "b:1"]})
False
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping

import tensorflow as tf

from keras_colorful import constants

STRATEGIES = constants.STRATEGIES

# Task types that run the training program (an "evaluator" or "ps" task does not).
TRAINING_TASK_TYPES = ("chief", "worker")

WORKER_TEMP_PREFIX = "workertemp_"

log = logging.getLogger(__name__)


def tf_config(environ: Mapping[str, str] | None = None) -> dict:
    """The parsed `TF_CONFIG` ({} when unset or empty).

    Raises:
        ValueError: if `TF_CONFIG` is not a JSON object.
    """
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise ValueError(f"TF_CONFIG must be a JSON object, got {text!r}.")
    return value


def num_training_tasks(environ: Mapping[str, str] | None = None) -> int:
    """How many chief and worker tasks `TF_CONFIG` names (0 when there is no cluster)."""
    cluster = tf_config(environ).get("cluster", {})
    return sum(len(cluster.get(task_type, ())) for task_type in TRAINING_TASK_TYPES)


def resolve_name(
    name: str = "auto", tpu: str | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """The concrete strategy "auto" stands for ("tpu", "multi_worker" or "mirrored").

    Args:
        name: one of `STRATEGIES`.
        tpu: a TPU address ("grpc://...", a TPU name, or "local" on a TPU VM); picks "tpu".
        environ: the environment to read `TF_CONFIG` from (default `os.environ`).

    Returns:
        `name` itself unless it is "auto".

    Raises:
        ValueError: for an unknown name.
    """
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; expected one of {STRATEGIES}.")
    if name != "auto":
        return name
    if tpu:
        return "tpu"
    return "multi_worker" if num_training_tasks(environ) > 1 else "mirrored"


def make_strategy(name: str = "auto", tpu: str | None = None) -> tf.distribute.Strategy:
    """Builds the strategy `name` (see the module docstring).

    Create it at the start of the program, before other TensorFlow work: a multi-worker strategy
    starts the gRPC server of this task and configures the collective ops.

    Args:
        name: one of `STRATEGIES`.
        tpu: TPU address for "tpu" (or for "auto", where it selects the TPU). "local" means the
            TPU of this TPU VM; None with "tpu" lets the resolver read `TPU_NAME`. Untested here.

    Returns:
        A `tf.distribute.Strategy`.

    Example:
        >>> make_strategy("one_device").num_replicas_in_sync
        1
    """
    name = resolve_name(name, tpu)
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    # name == "tpu": not exercised by the tests (no TPU here).
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
    if tpu != "local":
        tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def task(strategy: tf.distribute.Strategy) -> tuple[str | None, int | None]:
    """(task type, task id) of this process in the strategy's cluster; (None, None) without one."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return None, None
    return resolver.task_type, resolver.task_id


def is_chief_task(task_type: str | None, task_id: int | None, cluster: Mapping | None) -> bool:
    """True for the task that writes the outputs: "chief" if the cluster has one, else worker 0.

    No cluster (task_type None) means a single process, which is its own chief.
    """
    if task_type is None:
        return True
    if cluster and "chief" in cluster:
        return task_type == "chief"
    return task_type == "worker" and (task_id or 0) == 0


def _cluster(strategy: tf.distribute.Strategy) -> dict:
    resolver = getattr(strategy, "cluster_resolver", None)
    spec = resolver.cluster_spec() if resolver is not None else None
    return spec.as_dict() if spec else {}


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes checkpoints, logs and the model of a run under `strategy`."""
    task_type, task_id = task(strategy)
    if task_type is None:
        return True
    return is_chief_task(task_type, task_id, _cluster(strategy))


def output_dir(model_dir: str, strategy: tf.distribute.Strategy) -> str:
    """Where this process writes: `model_dir` for the chief, `model_dir/workertemp_<id>` else."""
    if is_chief(strategy):
        return model_dir
    _, task_id = task(strategy)
    return os.path.join(model_dir, f"{WORKER_TEMP_PREFIX}{task_id}")


def _training_tasks(strategy: tf.distribute.Strategy) -> list[tuple[str, int]]:
    """(type, id) of every chief and worker task of a multi-worker strategy's cluster, chief first.

    Empty for other strategies (a TPU's cluster lists its hosts, but one client feeds them all).
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return []
    cluster = _cluster(strategy)
    return [
        (task_type, task_id)
        for task_type in TRAINING_TASK_TYPES
        for task_id in range(len(cluster.get(task_type, ())))
    ]


def num_workers(strategy: tf.distribute.Strategy) -> int:
    """How many processes train together (1 without a cluster)."""
    return max(1, len(_training_tasks(strategy)))


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    """True for a `MultiWorkerMirroredStrategy` over more than one process."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and (
        num_workers(strategy) > 1
    )


def input_shard(strategy: tf.distribute.Strategy) -> tuple[int, int] | None:
    """(num_workers, this worker's index) for sharding the input by file; None for one worker.

    The index follows TensorFlow's input-pipeline order: the chief (if any), then workers 0, 1, ...
    """
    tasks = _training_tasks(strategy)
    if len(tasks) <= 1:
        return None
    return len(tasks), tasks.index(task(strategy))


def adapt_keras_model(model, strategy: tf.distribute.Strategy) -> None:
    """Lets `model.fit` run under a multi-worker `MultiWorkerMirroredStrategy` (Keras 3).

    Keras 3 (3.15) averages each per-replica log of the training step across workers with
    `strategy.reduce("MEAN", value, axis=0)`, which fails on scalars ("Invalid reduction dimension
    0 for input with 0 dimensions", tensorflow/tensorflow#72388). This wraps the model's
    `train_step` so that scalar logs come out as shape [1]: the reduction along axis 0 is then
    the mean over all replicas of all workers, a scalar again. Nothing changes for other
    strategies. Call it after `compile`.
    """
    if not is_multi_worker(strategy):
        return
    train_step = model.train_step

    def train_step_with_vector_logs(data):
        logs = train_step(data)
        return {
            name: tf.reshape(value, [1]) if value.shape.rank == 0 else value
            for name, value in logs.items()
        }

    model.train_step = train_step_with_vector_logs


def input_dtype(strategy: tf.distribute.Strategy) -> tf.DType:
    """The dtype the input batches need under `strategy`: int32 for multi-worker and TPU, else uint8.

    Before training, Keras 3 averages one batch across replicas (`_maybe_symbolic_build`) and the
    collective all-reduce of `MultiWorkerMirroredStrategy` does not take uint8. The training model
    casts its input back to uint8, so only the host-to-device copy grows (4x).
    Pass it to `data.pipeline.make_dataset(output_dtype=...)`.

    Example:
        >>> input_dtype(tf.distribute.OneDeviceStrategy("/cpu:0")).name
        'uint8'
    """
    if is_multi_worker(strategy) or isinstance(strategy, tf.distribute.TPUStrategy):
        return tf.int32
    return tf.uint8


def remove_worker_dir(model_dir: str, strategy: tf.distribute.Strategy) -> None:
    """Deletes this non-chief worker's temporary directory (nothing for the chief)."""
    directory = output_dir(model_dir, strategy)
    if directory != model_dir and tf.io.gfile.exists(directory):
        tf.io.gfile.rmtree(directory)
