r"""Converts a colorization network to TFLite (builtin ops only), annealed mean baked in.

`python export/tflite.py --model=runs/a/model.keras --quantization=int8 --size=256
--representative_dir=photos/ --output=colorizer_int8.tflite`
(or `--preset=tiny` for a randomly initialised network). Quantization: float32, float16,
dynamic_int8, int8 (full integer, calibrated on --representative_dir). Input and outputs:
export/README.md. All logic lives in `keras_colorful.export.tflite_lib`.
"""

from absl import app, flags

from keras_colorful import constants

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_string("model", None, "A .keras file from scripts/train.py, or a released "
                        "weights name such as eccv16.")
    flags.DEFINE_string("preset", None, "Instead of --model: a preset (eccv16, small, tiny) "
                        "with random weights.")
    flags.DEFINE_string("output", None, "The .tflite file to write.")
    flags.DEFINE_enum("quantization", constants.QUANTIZATIONS[0], constants.QUANTIZATIONS,
                      "Weight/activation quantization.")
    flags.DEFINE_integer("size", constants.DEMO_NETWORK_SIZE, "Input height and width "
                         "(multiple of 8).")
    flags.DEFINE_enum("input_type", constants.TFLITE_INPUT_TYPES[0], constants.TFLITE_INPUT_TYPES,
                      "Input: L float32 in [0, 100], or sRGB gray uint8.")
    flags.DEFINE_float("temperature", constants.ANNEALED_MEAN_TEMPERATURE, "Annealed-mean temperature of the ab output.")
    flags.DEFINE_string("representative_dir", None, "Photos (folder, recursive, or glob) to "
                        "calibrate int8 on.")
    flags.DEFINE_integer("num_calibration_images", 100, "Calibrate on at most this many photos.")
    flags.DEFINE_string("evaluate_dir", None, "Photos to compare the model's ab with the Keras "
                        "network's on (LiteRT interpreter): prints mean and max error.")
    flags.mark_flag_as_required("output")
    flags.mark_flags_as_mutual_exclusive(["model", "preset"], required=True)


def main(argv) -> None:
    del argv
    from keras_colorful import loading, models
    from keras_colorful.data import sources
    from keras_colorful.export import tflite_lib

    if FLAGS.preset:  # random weights, seeded: the same network every time
        net = models.build_model(FLAGS.preset, seed=0)
    else:
        net = loading.load_network(FLAGS.model)
    photos = None
    if FLAGS.representative_dir:
        photos = sources.list_image_files(FLAGS.representative_dir)
    model = tflite_lib.convert(
        net,
        FLAGS.quantization,
        FLAGS.size,
        representative_images=photos,
        temperature=FLAGS.temperature,
        input_type=FLAGS.input_type,
        num_calibration_images=FLAGS.num_calibration_images,
    )
    with open(FLAGS.output, "wb") as file:
        file.write(model)
    print(f"{FLAGS.quantization} TFLite model written to {FLAGS.output}: "
          f"{len(model) / 1e6:.2f} MB.")
    if FLAGS.evaluate_dir:
        if FLAGS.input_type != "l_float":
            raise app.UsageError("--evaluate_dir needs --input_type=l_float.")
        errors = tflite_lib.ab_errors(
            net, model, sources.list_image_files(FLAGS.evaluate_dir), FLAGS.temperature
        )
        print(f"ab error vs Keras on {errors['images']} photos: mean {errors['mean']:.3f}, "
              f"max {errors['max']:.3f} (Lab units).")


if __name__ == "__main__":
    define_flags()
    app.run(main)
