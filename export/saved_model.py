r"""Exports a colorization network as a SavedModel for TF Serving, decode baked in.

`python export/saved_model.py --model=runs/a/model.keras --output=models/colorizer/1`
(or `--preset=tiny` for a randomly initialised network). Signatures and serving commands:
export/README.md and export/serving/README.md. All logic lives in
`keras_colorful.export.saved_model_lib`.
"""

from absl import app, flags

from keras_colorful import constants

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_string("model", None, "A .keras file from scripts/train.py, or a released "
                        "weights name such as eccv16.")
    flags.DEFINE_string("preset", None, "Instead of --model: a preset (eccv16, small, tiny) "
                        "with random weights.")
    flags.DEFINE_string("output", None, "Version directory, e.g. models/colorizer/1.")
    flags.DEFINE_integer("network_size", constants.DEMO_NETWORK_SIZE, "Size the network runs "
                         "at (multiple of 8; the release's demo: 256). 0: each image's own size "
                         "rounded to 8.")
    flags.DEFINE_float("temperature", constants.ANNEALED_MEAN_TEMPERATURE, "Annealed-mean temperature of the signatures "
                       "without a temperature input.")
    flags.DEFINE_bool("overwrite", False, "Replace the files of a non-empty --output.")
    flags.mark_flag_as_required("output")
    flags.mark_flags_as_mutual_exclusive(["model", "preset"], required=True)


def main(argv) -> None:
    del argv
    from keras_colorful import loading, models
    from keras_colorful.export import saved_model_lib
    from keras_colorful.inference import pipeline

    if FLAGS.preset:  # random weights, seeded: the same network every time
        net = models.build_model(FLAGS.preset, seed=0)
    else:
        net = loading.load_network(FLAGS.model)
    path = saved_model_lib.export_saved_model(
        net,
        FLAGS.output,
        network_size=pipeline.parse_network_size(FLAGS.network_size),
        temperature=FLAGS.temperature,
        overwrite=FLAGS.overwrite,
    )
    size = saved_model_lib.directory_bytes(path)
    weights = saved_model_lib.parameter_bytes(net)
    print(f"SavedModel written to {path}: {size / 1e6:.2f} MB "
          f"(float32 weights: {weights / 1e6:.2f} MB).")


if __name__ == "__main__":
    define_flags()
    app.run(main)
