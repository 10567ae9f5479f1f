"""The resolved training configuration, written as `config.json` beside the checkpoints.

Example:
>>> from keras_colorful.training import config
>>> c = config.TrainingConfig(model_dir="/tmp/run", train_steps=10)
>>> config.TrainingConfig.from_dict(c.to_dict()) == c
True
"""

from __future__ import annotations

import dataclasses
import json
import os

from keras_colorful import constants

# The `tf.distribute` strategies of `training.strategies` (kept here: this module imports no TF).
STRATEGIES = ("auto", "mirrored", "multi_worker", "tpu", "one_device")


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """Everything a training run depends on. Defaults follow the release (METHOD.md).

    Attributes:
        data_dir: folder (recursive), glob or TFRecord glob of training photos; None = demo data.
        model_dir: where checkpoints, `config.json`, TensorBoard logs and `model.keras` go.
        preset: model preset ("eccv16", "small", "tiny").
        batch_size: global batch size, split across replicas.
        train_steps: total optimiser steps (a resumed run continues up to this number).
        learning_rate: Adam learning rate (release 3.16e-5).
        lr_decay_factor, lr_decay_steps: step decay (release: x0.316 every 215k iterations).
        weight_decay: L2 coefficient added to the gradient of every kernel (release 1e-3).
        beta_1, beta_2, epsilon: Adam (release 0.9, 0.99, 1e-8).
        prior: path of a (313,) .npy prior from `scripts/compute_prior.py`; None = ImageNet's.
        mixed_precision: compute in float16 (GPU) with float32 variables and loss.
        checkpoint_every: steps between checkpoints (also the length of a Keras "epoch").
        keep_checkpoints: how many checkpoints to keep.
        eval_dir: photos for the fixed image summary; None = the first training photos.
        image_summary_every: steps between TensorBoard image summaries (0 = off).
        num_summary_images: images in the summary grid.
        crop_size: training crop (release 176).
        resize_shorter_to: the shorter side photos are resized to before cropping (release 256).
        seed: seeds the data order, augmentation and initialisation.
        strategy: "auto", "mirrored", "multi_worker", "tpu" or "one_device" (see
            `training.strategies`; "auto" reads `TF_CONFIG` and `tpu`).
        tpu: TPU address for the "tpu" strategy ("local" on a TPU VM); with "auto" it selects it.
        data_service: "grpc://host:port" of a tf.data service dispatcher to run the input
            pipeline on (`scripts/data_service.py`); None = in this process.
        data_service_mode: "distributed_epoch" or "parallel_epochs" (see `data_service`).
        jit_compile: XLA-compile the training step.
        demo: True when this is the embedded demo run (no data_dir given).
    """

    model_dir: str
    data_dir: str | None = None
    preset: str = "small"
    batch_size: int = 8
    train_steps: int = 1000
    learning_rate: float = 3.16e-5
    lr_decay_factor: float = 0.316
    lr_decay_steps: int = 215_000
    weight_decay: float = 1e-3
    beta_1: float = 0.9
    beta_2: float = 0.99
    epsilon: float = 1e-8
    prior: str | None = None
    mixed_precision: bool = False
    checkpoint_every: int = 100
    keep_checkpoints: int = 3
    eval_dir: str | None = None
    image_summary_every: int = 100
    num_summary_images: int = 4
    crop_size: int = constants.TRAIN_CROP_SIZE
    resize_shorter_to: int = 256
    seed: int = 0
    strategy: str = "auto"
    jit_compile: bool = False
    demo: bool = False
    # Distributed training (issue 7).
    tpu: str | None = None
    data_service: str | None = None
    data_service_mode: str = "distributed_epoch"

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
        if self.crop_size % 8:
            raise ValueError(f"crop_size must be a multiple of 8, got {self.crop_size}.")
        if self.image_summary_every < 0:
            raise ValueError("image_summary_every must be >= 0.")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}.")
        if self.data_service_mode not in ("distributed_epoch", "parallel_epochs"):
            raise ValueError(
                "data_service_mode must be 'distributed_epoch' or 'parallel_epochs', "
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

    def write_json(self, path: str | None = None) -> str:
        """Writes the config as JSON (default: `model_dir/config.json`); returns the path."""
        path = path or os.path.join(self.model_dir, "config.json")
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        temporary = path + ".tmp"
        with open(temporary, "w") as f:
            json.dump(self.to_dict(), f, indent=2, sort_keys=True)
        os.replace(temporary, path)
        return path
