"""Train a colorization model; kill it at any time and run the same command again to resume.

    keras-colorful train --data-dir photos/ --model-dir runs/a --preset eccv16 --batch-size 40
    keras-colorful train                      # a short DEMO run on generated photos

Watch it with `tensorboard --logdir <model_dir>/logs`. A folder that holds checkpoints resumes
(never starts again from step 0 unless --restart); one run per folder at a time. Every field of
`TrainingConfig` is a flag of the same name, default (the release's recipe, from
`keras_colorful.constants`) and help; the demo run (no --data_dir) is shorter, checkpoints more
often and learns at --demo_learning_rate.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import typing

from keras_colorful.cli import flags
from keras_colorful.training import config as config_lib

# The demo run (no --data_dir) is short and checkpoints often, and learns at its own rate.
DEMO_DEFAULTS = {"train_steps": 60, "checkpoint_every": 20}
DEMO_LEARNING_RATE = 1e-3
# Flags whose default differs from the config's (which has none for model_dir).
FLAG_DEFAULTS = {"model_dir": "runs/demo"}
# Fields that are not flags: `demo` follows from --data_dir.
NOT_FLAGS = ("demo",)

log = logging.getLogger(__name__)


def config_fields() -> list[dataclasses.Field]:
    """The `TrainingConfig` fields that are flags."""
    return [field for field in dataclasses.fields(config_lib.TrainingConfig)
            if field.name not in NOT_FLAGS]


def add_parser(commands) -> None:
    """One flag per config field, typed after the field, with the field's help and default."""
    parser = flags.command(commands, "train", run, help="train (or resume) a model",
                           description=__doc__)
    types = typing.get_type_hints(config_lib.TrainingConfig)
    for field in config_fields():
        name, help_text = field.name, field.metadata["help"].replace("%", "%%")
        default = FLAG_DEFAULTS.get(name, field.default)
        if name in DEMO_DEFAULTS:  # resolved in config_from_args, once --data_dir is known
            help_text += f" Default: {field.default}, or {DEMO_DEFAULTS[name]} for the demo run."
            default = None
        kinds = typing.get_args(types[name]) or (types[name],)
        if bool in kinds:
            flags.boolean(parser, name, default, help_text)
            continue
        value_type = int if int in kinds else float if float in kinds else str
        flags.option(parser, name, type=value_type, default=default, help=help_text,
                     choices=field.metadata.get("choices"))
    flags.option(parser, "demo_learning_rate", type=float, default=DEMO_LEARNING_RATE,
                 metavar="RATE", help="Learning rate of the demo run only.")
    flags.boolean(parser, "restart", False,
                  "Start again from step 0 in a --model_dir that holds checkpoints (they are "
                  "moved aside, not deleted); also allows another --preset there.")


def config_from_args(args: argparse.Namespace) -> config_lib.TrainingConfig:
    """The run's config: the flags, with the demo run's defaults when there is no --data_dir.

    Example:

    >>> args = argparse.Namespace(**{f.name: f.default for f in config_fields()})
    >>> args.model_dir, args.train_steps, args.demo_learning_rate = "runs/x", None, 0.01
    >>> config = config_from_args(args)
    >>> config.demo, config.train_steps, config.learning_rate
    (True, 60, 0.01)
    """
    demo = args.data_dir is None
    values = {field.name: getattr(args, field.name) for field in config_fields()}
    defaults = {field.name: field.default for field in config_fields()}
    for name, demo_default in DEMO_DEFAULTS.items():
        if values[name] is None:
            values[name] = demo_default if demo else defaults[name]
    if demo:
        values["learning_rate"] = args.demo_learning_rate
    return config_lib.TrainingConfig(**values, demo=demo)


def run(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
    except ValueError as error:
        raise flags.UsageError(str(error)) from error
    from keras_colorful.training import train_lib

    result = train_lib.train_and_evaluate(config, verbose=1, restart=args.restart)
    log.info("Finished at step %d (resumed from %d); loss %s (%s nats per output pixel, "
             "unweighted %s); model saved to %s", result["step"], result["resumed_from"],
             result["loss"], result["loss_per_pixel"], result["unweighted_loss_per_pixel"],
             result["model_path"])
    if result["is_chief"]:  # other workers of a multi-worker job saved to a temporary folder
        print(f"Saved {result['model_path']} at step {result['step']}.")
    return flags.EXIT_OK
