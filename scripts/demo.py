r"""Colorizes the bundled black-and-white demo photos: `python scripts/demo.py --output=demo_output`.

Writes one PNG per photo and `grid.png` (gray | colorized). `--model` takes anything
`keras_colorful.load` takes (default: the bundled model). The same as `keras-colorful demo`
(`keras_colorful.cli.demo`); all logic lives in `keras_colorful.demo`.
"""

import sys

from keras_colorful import cli

if __name__ == "__main__":
    sys.exit(cli.main(["demo", *sys.argv[1:]]))
