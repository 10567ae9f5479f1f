"""Convert a folder of photos into TFRecord shards for (multi-worker) training.

    keras-colorful make-tfrecords --data-dir photos/ --output shards/train --shards 64

writes shards/train-00000-of-00064.tfrecord ... (the --output prefix may be gs://bucket/...),
skipping and listing files that do not decode, and a manifest shards/train.manifest.json with
the counts, sizes, shard names and skipped files. Train on them with
`keras-colorful train --data-dir 'shards/train-*.tfrecord'`.
"""

from __future__ import annotations

import argparse

from keras_colorful.cli import flags

DEFAULT_SHARDS = 16
SKIPPED_SHOWN = 10


def add_parser(commands) -> None:
    parser = flags.command(commands, "make-tfrecords", run, aliases=["make_tfrecords"],
                           help="TFRecord shards of a folder of photos, for training",
                           description=__doc__)
    flags.option(parser, "data_dir", required=True, metavar="DIR",
                 help="folder (recursive), glob or file of photos")
    flags.option(parser, "output", "-o", required=True, metavar="PREFIX",
                 help="shard prefix: PREFIX-00000-of-0000N.tfrecord (local or gs://)")
    flags.option(parser, "shards", type=flags.positive_int, default=DEFAULT_SHARDS, metavar="N",
                 help="number of shards (at least the number of training workers)")
    flags.option(parser, "seed", type=int, default=0,
                 help="seed of the file shuffle before sharding (-1: sorted order)")
    flags.add_progress(parser)


def run(args: argparse.Namespace) -> int:
    from keras_colorful.data import tfrecords

    manifest = tfrecords.write_tfrecords(
        args.data_dir, args.output, num_shards=args.shards,
        seed=None if args.seed < 0 else args.seed, progress=args.progress)
    print(f"Wrote {manifest.num_images} images ({manifest.image_bytes / 1e6:.1f} MB) to "
          f"{len(manifest.shards)} shards ({manifest.num_bytes / 1e6:.1f} MB); "
          f"skipped {len(manifest.skipped)} of {manifest.num_files} files.")
    for path, reason in manifest.skipped[:SKIPPED_SHOWN]:
        print(f"  skipped {path}: {reason}")
    if len(manifest.skipped) > SKIPPED_SHOWN:
        print(f"  ... and {len(manifest.skipped) - SKIPPED_SHOWN} more (all in the manifest).")
    print(f"Manifest: {tfrecords.manifest_path(args.output)}")
    return flags.EXIT_OK
