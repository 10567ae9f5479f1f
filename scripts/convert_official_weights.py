r"""Converts the authors' released PyTorch weights to Keras.

    python scripts/convert_official_weights.py --pth=colorization_release_v2-9b330a0b.pth \
        --output=eccv16.keras

Without --pth the file is downloaded once from the authors' URL into ~/.keras/keras_colorful.
The result loads with `keras_colorful.load("eccv16.keras")` and reproduces the released model
at the default temperature 0.38 (the temperature folding is described in
`keras_colorful.weights.convert`). Needs no PyTorch (`keras_colorful.weights.torch_file`). The
same as `keras-colorful convert-weights` (`keras_colorful.cli.convert_weights`); all logic lives
in `keras_colorful.weights`.
"""

import sys

from keras_colorful import cli

if __name__ == "__main__":
    sys.exit(cli.main(["convert-weights", *sys.argv[1:]]))
