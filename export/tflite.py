r"""Converts a colorization network to TFLite (builtin ops only), annealed mean baked in.

`python export/tflite.py --model=runs/a/model.keras --quantization=dynamic_int8
--input_type=rgb_image --representative_dir=photos/ --output=colorizer.tflite`
(default: the bundled model; `--preset=tiny` for a randomly initialised network). Quantization:
float32, float16, dynamic_int8, int8 (the last two need --representative_dir and are checked
against float32 before they are written). Inputs (L, gray, or the photo itself) and outputs:
export/README.md. The same as `keras-colorful export tflite`
(`keras_colorful.cli.export`); all logic lives in `keras_colorful.export.tflite_lib`.
"""

import sys

from keras_colorful import cli

if __name__ == "__main__":
    sys.exit(cli.main(["export", "tflite", *sys.argv[1:]]))
