r"""Converts the authors' released PyTorch weights to Keras.

    python scripts/convert_official_weights.py --pth=colorization_release_v2-9b330a0b.pth \
        --output=eccv16.keras

Without --pth the file is downloaded once from the authors' URL into ~/.keras/keras_colorful.
The result loads with `keras_colorful.load("eccv16.keras")` and reproduces the released model
at the default temperature 0.38 (the temperature folding is described in
`keras_colorful.weights.convert`). Needs torch (`pip install keras-colorful[convert]`). All logic
lives in `keras_colorful.weights`.
"""

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("pth", None, "The released .pth file (default: download it once).")
flags.DEFINE_string("output", "eccv16.keras", "Output .keras (or .weights.h5) file.")
flags.DEFINE_bool("check_hash", True, "Check the .pth file's sha256 prefix (9b330a0b).")


def main(argv):
    del argv
    from keras_colorful.weights import pth, released

    pth_path = released.released_weights_path("eccv16", FLAGS.pth, check_hash=FLAGS.check_hash)
    net = pth.convert_pth(pth_path, FLAGS.output)
    print(f"Converted {pth_path} ({net.count_params():,} parameters) to {FLAGS.output}.")


if __name__ == "__main__":
    app.run(main)
