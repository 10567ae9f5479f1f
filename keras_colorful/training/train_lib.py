"""`train_and_evaluate(config)`: the whole training run, resumable after a kill.

- Runs under a `tf.distribute` strategy (MirroredStrategy over all visible GPUs, one CPU device
  when there is none; MultiWorkerMirroredStrategy when `TF_CONFIG` names a cluster, see
  `strategies` and docs/distributed.md); `batch_size` is global.
- Multi-worker: every worker runs this same function; only the chief writes `model_dir` (the
  others write to `model_dir/workertemp_<id>`, deleted at the end) and every worker restores the
  chief's latest checkpoint, so restarting the whole job after a worker died resumes it. Each
  worker reads its own share of the files (or TFRecord shards).
- Checkpoints (model, optimiser, step) every `checkpoint_every` steps with
  `tf.train.CheckpointManager`; a restarted run restores the newest checkpoint that restores,
  found by its files (`checkpoints`), and continues to `train_steps`. A folder holding
  checkpoints never starts again from step 0 unless `restart=True` (which moves the old ones
  aside). The data order is reseeded from (seed, step) on resume so that a resumed run does not
  replay the images it has already seen (Keras owns the tf.data iterator, whose exact position
  is not checkpointed).
- One run per folder (`run_directory.RunLock`); the settings are checked against the run's
  `config.json` before anything is written (`run_directory.check_and_record_config`).
- Writes `config.json`, TensorBoard logs (`logs/`), and at the end the network as `model.keras`
  (atomically: a kill leaves the old file or the new one).

Example (a 2-step demo run on generated photos):
>>> import tempfile
>>> from keras_colorful.training import config, train_lib
>>> run = config.TrainingConfig(model_dir=tempfile.mkdtemp(), preset="tiny", batch_size=2,
...                             train_steps=2, crop_size=32, resize_shorter_to=40, demo=True)
>>> result = train_lib.train_and_evaluate(run, verbose=0)
>>> result["step"]
2
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os

import keras
import numpy as np
import tensorflow as tf

from keras_colorful import files, models
from keras_colorful.data import pipeline, sources
from keras_colorful.training import (
    callbacks,
    checkpoints,
    optimizer,
    run_directory,
    strategies,
    synthetic_photos,
    training_model,
)
from keras_colorful.training import config as config_lib

DEMO_PHOTOS = 64

log = logging.getLogger(__name__)


def load_prior(path: str | None) -> np.ndarray | None:
    """The (313,) prior saved by `scripts/compute_prior.py`, or None for the default."""
    if path is None:
        return None
    if not os.path.exists(path):
        raise ValueError(f"--prior file not found: {path}")
    return np.load(path)


def resolve_data(config: config_lib.TrainingConfig) -> config_lib.TrainingConfig:
    """The config with the demo data folder filled in when no data_dir is given (no writes)."""
    if config.data_dir is not None:
        return config
    demo_dir = os.path.join(config.model_dir, "demo_photos")
    return dataclasses.replace(config, data_dir=demo_dir, demo=True)


def write_demo_photos(config: config_lib.TrainingConfig) -> None:
    """Writes the generated photos of a demo run (kept when already there)."""
    synthetic_photos.write_demo_photos(config.data_dir, count=DEMO_PHOTOS, seed=config.seed)
    log.warning(
        "No data_dir given: this is a DEMO run on %d generated photos in %s. "
        "Pass --data_dir to train on your own photos.", DEMO_PHOTOS, config.data_dir)


def train_and_evaluate(
    config: config_lib.TrainingConfig, strategy=None, verbose="auto", restart: bool = False
) -> dict:
    """Trains (or resumes) the run described by `config`. Returns a summary dict.

    Args:
        config: the run. `config.json` is written to `config.model_dir`.
        strategy: a `tf.distribute.Strategy`; None builds one from `config.strategy`.
        verbose: Keras `fit` verbosity (1 = progress bar with ETA).
        restart: start again from step 0 in a folder that holds checkpoints: the old ones move
            to `checkpoints.before-restart-<time>` (nothing is deleted). Without it such a folder
            resumes, and one whose checkpoints all fail to restore is an error.

    Raises:
        run_directory.RunInUseError: another run holds `model_dir`.
        ValueError: settings that cannot resume the run in `model_dir`, or checkpoints of which
            none restores (the message names each and why).

    Returns:
        {"step", "resumed_from", "loss", "unweighted_loss", "loss_per_pixel",
         "unweighted_loss_per_pixel", "images_per_second",
         "model_path", "data", "is_chief", "net"} where "data" is the pipeline's report (files,
        skipped files; for TFRecords the number of shard files), "is_chief" whether this process
        wrote model_dir, and "net" the trained network.
    """
    # First: a multi-worker strategy must be set up before other TensorFlow work.
    strategy = strategy or strategies.make_strategy(config.strategy, tpu=config.tpu)
    is_chief = strategies.is_chief(strategy)
    # Only the chief owns model_dir: its lock keeps a second run out for the whole run.
    lock = run_directory.RunLock(config.model_dir) if is_chief else contextlib.nullcontext()
    with lock:
        return _train_and_evaluate(config, strategy, is_chief, verbose, restart)


def _train_and_evaluate(config, strategy, is_chief, verbose, restart) -> dict:
    # The chief writes model_dir; other workers write to model_dir/workertemp_<id>, removed at
    # the end (and here, if a killed run left it behind).
    work_dir = strategies.output_dir(config.model_dir, strategy)
    strategies.remove_worker_dir(config.model_dir, strategy)
    checkpoint_dir = os.path.join(config.model_dir, "checkpoints")
    config = resolve_data(config)
    if is_chief:  # checked before anything is written
        run_directory.check_and_record_config(config, restart=restart)
        if restart:
            moved = run_directory.set_aside_checkpoints(checkpoint_dir)
            if moved:
                log.warning("Restarting from step 0: the old checkpoints are in %s.", moved)
    if config.demo:
        write_demo_photos(config)
    os.makedirs(work_dir, exist_ok=True)
    if config.batch_size % strategy.num_replicas_in_sync:
        log.warning("batch_size %d is not a multiple of the %d replicas: replicas get unequal "
                    "shares of each batch.", config.batch_size, strategy.num_replicas_in_sync)
    keras.utils.set_random_seed(config.seed)
    if config.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    prior = load_prior(config.prior)

    source = sources.resolve_source(config.data_dir)  # lists and scans the photos once
    with strategy.scope():
        net = models.build_model(config.preset)
        trainer = training_model.ColorizationTrainer(net, prior=prior)
        adam = optimizer.build_optimizer(
            learning_rate=config.learning_rate, lr_decay_factor=config.lr_decay_factor,
            lr_decay_steps=config.lr_decay_steps, weight_decay=config.weight_decay,
            beta_1=config.beta_1, beta_2=config.beta_2, epsilon=config.epsilon)
        trainer.compile(optimizer=adam, jit_compile=config.jit_compile)
        strategies.adapt_keras_model(trainer, strategy)
        adam.build(trainer.trainable_variables)
        checkpoint = tf.train.Checkpoint(model=trainer, optimizer=adam)
        # Every worker restores the chief's newest checkpoint that restores.
        restored = checkpoints.restore_newest(checkpoint, checkpoint_dir)
        if restored.found and restored.path is None:
            raise ValueError(
                f"None of the {restored.found} checkpoints in {checkpoint_dir} restores: "
                + "; ".join(f"{path}: {reason}" for path, reason in restored.skipped)
                + ". Nothing was changed. Start again from step 0 with --restart (the old "
                "checkpoints are kept aside), or use another --model_dir."
            )
        if is_chief:
            checkpoints.set_aside_unreadable(restored)
            checkpoints.rewrite_state_file(checkpoint_dir)
        # Every worker saves (saving may run collective ops); only the chief's copy is kept.
        manager = tf.train.CheckpointManager(
            checkpoint, os.path.join(work_dir, "checkpoints"),
            max_to_keep=config.keep_checkpoints, checkpoint_name=checkpoints.PREFIX)
    latest = restored.path
    start_step = int(adam.iterations.numpy())
    if start_step:
        log.warning("Resuming from %s at step %d.", latest, start_step)
    if start_step >= config.train_steps:
        log.warning("Already trained %d >= %d steps.", start_step, config.train_steps)

    # Reseeded from the step: a resumed run does not replay the images it has already seen.
    train_data = pipeline.make_dataset(
        source, batch_size=config.batch_size, crop_size=config.crop_size,
        resize_shorter_to=config.resize_shorter_to, seed=config.seed + start_step,
        shard=strategies.input_shard(strategy), output_dtype=strategies.input_dtype(strategy),
        data_service=config.data_service, data_service_mode=config.data_service_mode,
        data_service_job=f"keras_colorful:{config.model_dir}:{start_step}")
    eval_rgb = pipeline.make_eval_batch(
        config.eval_dir or source, config.num_summary_images, config.crop_size
    ) if is_chief else None
    steps_per_epoch = min(config.checkpoint_every, config.train_steps)
    if start_step < config.train_steps:
        log.warning(
            "Training to step %d. Each Keras 'epoch' below is one checkpoint interval of %d "
            "steps (not a pass over the photos). Losses: per image (loss, unweighted_loss) and "
            "in nats per output pixel (loss_per_pixel, unweighted_loss_per_pixel).",
            config.train_steps, steps_per_epoch)
    summaries = callbacks.TrainingSummaries(
        os.path.join(work_dir, "logs"), adam, config.batch_size, net=net,
        eval_rgb=eval_rgb, log_every=min(10, steps_per_epoch),
        image_every=config.image_summary_every if is_chief else 0)
    history = trainer.fit(
        train_data,
        epochs=math.ceil(config.train_steps / steps_per_epoch),
        initial_epoch=start_step // steps_per_epoch,
        steps_per_epoch=steps_per_epoch,
        shuffle=False,  # the dataset shuffles itself
        callbacks=[callbacks.StopAtStep(adam, config.train_steps),
                   callbacks.CheckpointEveryEpoch(manager, adam), summaries],
        verbose=verbose,
    ) if start_step < config.train_steps else None

    model_path = os.path.join(config.model_dir, run_directory.MODEL_FILE)
    # All workers save (saving may run collective ops); the chief's is kept.
    files.save_keras_model(net, os.path.join(work_dir, run_directory.MODEL_FILE))
    strategies.remove_worker_dir(config.model_dir, strategy)
    last = {k: float(v[-1]) for k, v in history.history.items()} if history else {}
    return {
        "step": int(adam.iterations.numpy()),
        "resumed_from": start_step,
        "loss": last.get("loss"),
        "unweighted_loss": last.get("unweighted_loss"),
        "loss_per_pixel": last.get("loss_per_pixel"),
        "unweighted_loss_per_pixel": last.get("unweighted_loss_per_pixel"),
        "images_per_second": summaries.images_per_second,
        "model_path": model_path,
        "data": source.report(),
        "is_chief": is_chief,
        "net": net,
    }
