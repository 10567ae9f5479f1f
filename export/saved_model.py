r"""Exports a colorization network as a SavedModel for TF Serving, decode baked in.

`python export/saved_model.py --model=runs/a/model.keras --output=models/colorizer/1`
(default: the bundled model; `--preset=tiny` for a randomly initialised network). The output
must end in a version number; `--max_pixels` caps the images accepted, `--jpeg_quality` sets
the `serving_jpeg` signature's quality. Signatures and
serving commands: export/README.md and export/serving/README.md. The same as
`keras-colorful export saved_model` (`keras_colorful.cli.export`); all logic lives in
`keras_colorful.export.saved_model_lib`.
"""

import sys

from keras_colorful import cli

if __name__ == "__main__":
    sys.exit(cli.main(["export", "saved_model", *sys.argv[1:]]))
