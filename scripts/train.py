r"""Trains a colorization model: `python scripts/train.py --data_dir=photos/ --model_dir=runs/a`.

With no --data_dir it runs a short DEMO on generated photos (the README's main command). Kill it
at any time and start the same command again: it resumes from the last checkpoint. Watch it with
`tensorboard --logdir <model_dir>/logs`. Every field of `TrainingConfig` is a flag of the same
name, default and help (`--help` lists them). The same as `keras-colorful train`
(`keras_colorful.cli.train`); all logic lives in `keras_colorful.training.train_lib`.
"""

import sys

from keras_colorful import cli

if __name__ == "__main__":
    sys.exit(cli.main(["train", *sys.argv[1:]]))
