"""The resolved training configuration, written as `config.json` beside the checkpoints.

The defaults are the release's recipe (`constants`: optimiser, learning-rate schedule, crops),
except the batch size and the run length, sized for one machine. Each field's help (its
`metadata["help"]`) is also the help of its `scripts/train.py` flag.

Example:
>>> from keras_colorful.training import config
>>> c = config.TrainingConfig(model_dir="/tmp/run", train_steps=10)
>>> config.TrainingConfig.from_dict(c.to_dict()) == c
True
>>> c.learning_rate == constants.LEARNING_RATE
True
"""

from __future__ import annotations

import dataclasses
from typing import Any

from keras_colorful import constants

STRATEGIES = constants.STRATEGIES


def _field(default: Any, help: str, **metadata: Any) -> Any:
    """A config field with a default and a help text (more metadata: e.g. `choices`)."""
    return dataclasses.field(default=default, metadata={"help": help, **metadata})


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """Everything a training run depends on; each field's `metadata["help"]` says what it is."""

    model_dir: str = dataclasses.field(metadata={
        "help": "Where checkpoints, config.json, TensorBoard logs (logs/) and model.keras go."})
    data_dir: str | None = _field(
        None, "Folder (recursive) or glob of training photos, or a glob of TFRecord shards "
        "(scripts/make_tfrecords.py). Unset: a short demo run on generated photos.")
    preset: str = _field("small", "Model preset: eccv16, small or tiny.")
    batch_size: int = _field(8, "Global batch size (split across replicas).")
    train_steps: int = _field(
        1000, "Total optimiser steps (a resumed run continues up to this number).")
    learning_rate: float = _field(constants.LEARNING_RATE, "Adam learning rate.")
    lr_decay_factor: float = _field(
        constants.LR_DECAY_FACTOR, "Learning-rate factor every lr_decay_steps.")
    lr_decay_steps: int = _field(constants.LR_DECAY_STEPS, "Steps between learning-rate decays.")
    weight_decay: float = _field(
        constants.WEIGHT_DECAY, "L2 coefficient added to the gradient of every conv kernel.")
    beta_1: float = _field(constants.ADAM_BETA_1, "Adam's beta_1.")
    beta_2: float = _field(constants.ADAM_BETA_2, "Adam's beta_2.")
    epsilon: float = _field(constants.ADAM_EPSILON, "Adam's epsilon.")
    prior: str | None = _field(
        None, "A (313,) prior .npy from scripts/compute_prior.py. Unset: the ImageNet prior.")
    mixed_precision: bool = _field(
        False, "float16 compute (GPU), float32 variables and loss.")
    checkpoint_every: int = _field(
        100, "Steps between checkpoints (also the length of a Keras epoch).")
    keep_checkpoints: int = _field(3, "How many checkpoints to keep.")
    eval_dir: str | None = _field(
        None, "Photos for the TensorBoard image summary. Unset: the first training photos.")
    image_summary_every: int = _field(
        100, "Steps between TensorBoard image summaries (0: off).")
    num_summary_images: int = _field(4, "Images in the image summary grid.")
    crop_size: int = _field(
        constants.TRAIN_CROP_SIZE, f"Training crop size (multiple of {constants.SIZE_MULTIPLE}).")
    resize_shorter_to: int = _field(
        constants.RESIZE_SHORTER_TO, "Photos' shorter side before the random crop.")
    seed: int = _field(0, "Seeds the data order, augmentation and initialisation.")
    strategy: str = _field(
        "auto", "tf.distribute strategy. auto: TPU if tpu is set, MultiWorkerMirrored when "
        "TF_CONFIG names a cluster of several tasks, else Mirrored (docs/distributed.md).",
        choices=constants.STRATEGIES)
    jit_compile: bool = _field(False, "XLA-compile the training step.")
    demo: bool = _field(False, "True for the demo run on generated photos (no data_dir).")
    tpu: str | None = _field(
        None, "TPU address (grpc://..., a TPU name, or 'local' on a TPU VM); with strategy "
        "auto it selects the TPU.")
    data_service: str | None = _field(
        None, "grpc://host:port of a tf.data service dispatcher (scripts/data_service.py) to "
        "run the input pipeline on. Unset: in this process.")
    data_service_mode: str = _field(
        "distributed_epoch", "tf.data service processing mode (see keras_colorful.data.service).",
        choices=constants.DATA_SERVICE_MODES)

    def __post_init__(self):
        positive = ("batch_size", "train_steps", "checkpoint_every", "keep_checkpoints",
                    "crop_size", "resize_shorter_to", "lr_decay_steps", "num_summary_images")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}.")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}.")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}.")
        if self.crop_size % constants.SIZE_MULTIPLE:
            raise ValueError(
                f"crop_size must be a multiple of {constants.SIZE_MULTIPLE}, got {self.crop_size}."
            )
        if self.image_summary_every < 0:
            raise ValueError("image_summary_every must be >= 0.")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}.")
        if self.data_service_mode not in constants.DATA_SERVICE_MODES:
            raise ValueError(
                f"data_service_mode must be one of {constants.DATA_SERVICE_MODES}, "
                f"got {self.data_service_mode!r}."
            )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainingConfig:
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"Unknown training config fields: {sorted(unknown)}.")
        return cls(**values)
