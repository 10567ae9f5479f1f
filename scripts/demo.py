r"""Colorizes the bundled black-and-white demo photos: `python scripts/demo.py --output=demo_output`.

Writes one PNG per photo and `grid.png` (gray | colorized). `--model` takes anything
`keras_colorful.load` takes (default: the bundled model).
"""

from absl import app, flags

from keras_colorful import constants

FLAGS = flags.FLAGS
flags.DEFINE_string("output", "demo_output", "Folder for the colorized photos and grid.png.")
flags.DEFINE_string("model", None, "A .keras file, SavedModel folder or 'eccv16'; unset: bundled.")
flags.DEFINE_float("temperature", constants.ANNEALED_MEAN_TEMPERATURE,
                   "Annealed-mean temperature.")


def main(argv):
    del argv
    import keras_colorful
    from keras_colorful import demo

    result = demo.colorize_demo(keras_colorful.load(FLAGS.model), FLAGS.output,
                                temperature=FLAGS.temperature)
    for path in result["colorized"]:
        print(f"wrote {path}")
    print(f"wrote {result['grid']}")


if __name__ == "__main__":
    app.run(main)
