"""Convert the authors' released PyTorch weights (ECCV16) to a Keras file.

    keras-colorful convert-weights --pth colorization_release_v2-9b330a0b.pth --output eccv16.keras

Without --pth the file is downloaded once from the authors' URL into ~/.keras/keras_colorful.
The result loads with `keras_colorful.load("eccv16.keras")` and reproduces the released model
at the default temperature 0.38. Needs no PyTorch.
"""

from __future__ import annotations

import argparse
import sys

from keras_colorful.cli import flags

RELEASE = "eccv16"
DEFAULT_OUTPUT = "eccv16.keras"


def add_parser(commands) -> None:
    parser = flags.command(commands, "convert-weights", run, aliases=["convert_weights"],
                           help="convert the authors' released .pth weights to .keras",
                           description=__doc__)
    flags.option(parser, "pth", default=None, metavar="FILE",
                 help="the released .pth file (default: download it once)")
    flags.option(parser, "output", "-o", default=DEFAULT_OUTPUT, metavar="FILE",
                 help="output .keras (or .weights.h5) file")
    flags.boolean(parser, "check_hash", True, "check the .pth file's sha256 prefix")


def run(args: argparse.Namespace) -> int:
    from keras_colorful.weights import pth, released

    pth_path = released.released_weights_path(RELEASE, args.pth, check_hash=args.check_hash)
    print(f"Converting {pth_path} ...", file=sys.stderr, flush=True)
    net = pth.convert_pth(pth_path, args.output)
    print(f"Converted {pth_path} ({net.count_params():,} parameters) to {args.output}.")
    return flags.EXIT_OK
