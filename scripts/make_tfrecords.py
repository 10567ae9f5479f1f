r"""Converts a folder of photos into TFRecord shards for (multi-worker) training.

    python scripts/make_tfrecords.py --data_dir=photos/ --output=shards/train --shards=64

writes shards/train-00000-of-00064.tfrecord ... and the manifest shards/train.manifest.json.
Train on them with `python scripts/train.py --data_dir='shards/train-*.tfrecord'`. The same as
`keras-colorful make-tfrecords` (`keras_colorful.cli.make_tfrecords`); all logic lives in
`keras_colorful.data.tfrecords`.
"""

import sys

from keras_colorful import cli

if __name__ == "__main__":
    sys.exit(cli.main(["make-tfrecords", *sys.argv[1:]]))
