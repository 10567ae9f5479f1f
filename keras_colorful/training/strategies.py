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

STRATEGIES = ("auto", "mirrored", "multi_worker", "tpu", "one_device")

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


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes checkpoints, logs and the model of a run under `strategy`."""
    task_type, task_id = task(strategy)
    if task_type is None:
        return True
    resolver = strategy.cluster_resolver
    cluster = resolver.cluster_spec().as_dict() if resolver.cluster_spec() else {}
    return is_chief_task(task_type, task_id, cluster)


def output_dir(model_dir: str, strategy: tf.distribute.Strategy) -> str:
    """Where this process writes: `model_dir` for the chief, `model_dir/workertemp_<id>` else."""
    if is_chief(strategy):
        return model_dir
    _, task_id = task(strategy)
    return os.path.join(model_dir, f"{WORKER_TEMP_PREFIX}{task_id}")


def num_workers(strategy: tf.distribute.Strategy) -> int:
    """How many processes train together (1 without a cluster)."""
    return int(getattr(strategy.extended, "_num_workers", 1) or 1)


def remove_worker_dir(model_dir: str, strategy: tf.distribute.Strategy) -> None:
    """Deletes this non-chief worker's temporary directory (nothing for the chief)."""
    directory = output_dir(model_dir, strategy)
    if directory != model_dir and tf.io.gfile.exists(directory):
        tf.io.gfile.rmtree(directory)
