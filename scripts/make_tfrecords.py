r"""Converts a folder of photos into TFRecord shards for (multi-worker) training.

    python scripts/make_tfrecords.py --data_dir=photos/ --output=shards/train --shards=64

writes shards/train-00000-of-00064.tfrecord ... (the `--output` prefix may be gs://bucket/...),
skipping and listing files that do not decode, and a manifest shards/train.manifest.json with the
counts, sizes, shard names and skipped files. Train on them with
`python scripts/train.py --data_dir='shards/train-*.tfrecord'`. All logic lives in
`keras_colorful.data.tfrecords`.
"""

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("data_dir", None, "Folder (recursive), glob or file of photos.")
flags.DEFINE_string("output", None, "Shard prefix: PREFIX-00000-of-0000N.tfrecord (local or gs://).")
flags.DEFINE_integer("shards", 16, "Number of shards (at least the number of training workers).")
flags.DEFINE_integer("seed", 0, "Seed of the file shuffle before sharding (-1: sorted order).")
flags.mark_flags_as_required(["data_dir", "output"])


def main(argv):
    del argv
    from keras_colorful.data import tfrecords

    manifest = tfrecords.write_tfrecords(
        FLAGS.data_dir, FLAGS.output, num_shards=FLAGS.shards,
        seed=None if FLAGS.seed < 0 else FLAGS.seed)
    print(f"Wrote {manifest.num_images} images ({manifest.image_bytes / 1e6:.1f} MB) to "
          f"{len(manifest.shards)} shards ({manifest.num_bytes / 1e6:.1f} MB); "
          f"skipped {len(manifest.skipped)} of {manifest.num_files} files.")
    for path, reason in manifest.skipped[:10]:
        print(f"  skipped {path}: {reason}")
    if len(manifest.skipped) > 10:
        print(f"  ... and {len(manifest.skipped) - 10} more (all in the manifest).")
    print(f"Manifest: {tfrecords.manifest_path(FLAGS.output)}")


if __name__ == "__main__":
    app.run(main)
