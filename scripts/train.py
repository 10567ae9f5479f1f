r"""Trains a colorization model: `python scripts/train.py --data_dir=photos/ --model_dir=runs/a`.

With no --data_dir it runs a short DEMO on generated photos (the README's main command). Kill it
at any time and start the same command again: it resumes from the last checkpoint. Watch it with
`tensorboard --logdir <model_dir>/logs`. Every field of `TrainingConfig` is a flag of the same
name, default (the release's recipe, from `keras_colorful.constants`) and help. All logic lives in
`keras_colorful.training.train_lib`.
"""

import dataclasses
import typing

from absl import app, flags, logging

from keras_colorful.training import config as config_lib

FLAGS = flags.FLAGS

# The demo run (no --data_dir) is short and checkpoints often, and learns at its own rate.
DEMO_DEFAULTS = {"train_steps": 60, "checkpoint_every": 20}
# Flags whose default differs from the config's (which has none for model_dir).
FLAG_DEFAULTS = {"model_dir": "runs/demo"}
# Fields that are not flags: `demo` follows from --data_dir.
NOT_FLAGS = ("demo",)


def config_fields() -> list[dataclasses.Field]:
    """The `TrainingConfig` fields that are flags."""
    return [field for field in dataclasses.fields(config_lib.TrainingConfig)
            if field.name not in NOT_FLAGS]


def define_config_flags() -> None:
    """One flag per config field, typed after the field, with the field's help and default."""
    types = typing.get_type_hints(config_lib.TrainingConfig)
    for field in config_fields():
        name, help_text = field.name, field.metadata["help"]
        default = FLAG_DEFAULTS.get(name, field.default)
        if name in DEMO_DEFAULTS:  # resolved in config_from_flags, once --data_dir is known
            help_text += f" Default: {field.default}, or {DEMO_DEFAULTS[name]} for the demo run."
            default = None
        kinds = typing.get_args(types[name]) or (types[name],)
        if "choices" in field.metadata:
            flags.DEFINE_enum(name, default, list(field.metadata["choices"]), help_text)
        elif bool in kinds:
            flags.DEFINE_bool(name, default, help_text)
        elif int in kinds:
            flags.DEFINE_integer(name, default, help_text)
        elif float in kinds:
            flags.DEFINE_float(name, default, help_text)
        else:
            flags.DEFINE_string(name, default, help_text)


define_config_flags()
flags.DEFINE_float("demo_learning_rate", 1e-3, "Learning rate of the demo run only.")


def config_from_flags() -> config_lib.TrainingConfig:
    demo = FLAGS.data_dir is None
    values = {field.name: FLAGS[field.name].value for field in config_fields()}
    defaults = {field.name: field.default for field in config_fields()}
    for name, demo_default in DEMO_DEFAULTS.items():
        values[name] = values[name] or (demo_default if demo else defaults[name])
    if demo:
        values["learning_rate"] = FLAGS.demo_learning_rate
    return config_lib.TrainingConfig(**values, demo=demo)


def main(argv):
    del argv
    from keras_colorful.training import train_lib

    result = train_lib.train_and_evaluate(config_from_flags(), verbose=1)
    logging.info("Finished at step %d (resumed from %d); loss %s; model saved to %s",
                 result["step"], result["resumed_from"], result["loss"], result["model_path"])
    if result["is_chief"]:  # other workers of a multi-worker job saved to a temporary folder
        print(f"Saved {result['model_path']} at step {result['step']}.")


if __name__ == "__main__":
    app.run(main)
