"""Compute the ab prior of your photos, for training with `train --prior`.

    keras-colorful compute-prior --data-dir photos/ --output my_prior.npy

Streams every photo under --data_dir (recursive), counts its ab pixels over the 313 bins, smooths
the histogram (sigma 5, as the release) and saves a float64 (313,) .npy, plus a JSON report
beside it (images used and skipped, pixels, out-of-gamut pixels).
"""

from __future__ import annotations

import argparse
import json

from keras_colorful import constants
from keras_colorful.cli import flags

DEFAULT_OUTPUT = "prior.npy"


def add_parser(commands) -> None:
    parser = flags.command(commands, "compute-prior", run, aliases=["compute_prior"],
                           help="the ab prior of a folder of photos (for train --prior)",
                           description=__doc__)
    flags.option(parser, "data_dir", required=True, metavar="DIR",
                 help="folder of photos (searched recursively) or a glob")
    flags.option(parser, "output", "-o", default=DEFAULT_OUTPUT, metavar="FILE",
                 help="where to save the (313,) float64 prior")
    flags.option(parser, "max_images", type=flags.positive_int, default=None, metavar="N",
                 help="stop after this many images (default: all)")
    flags.option(parser, "resize", type=flags.positive_int, default=None, metavar="SIZE",
                 help="resize each image to SIZE x SIZE first (e.g. 256, as the release's "
                 "training images); default: original sizes")
    flags.option(parser, "sigma", type=flags.non_negative_float,
                 default=constants.PRIOR_SMOOTHING_SIGMA, metavar="SIGMA",
                 help="Gaussian smoothing in ab units (0: none)")
    flags.add_progress(parser)


def run(args: argparse.Namespace) -> int:
    from keras_colorful import prior_lib

    prior, report = prior_lib.compute_prior_from_folder(
        args.data_dir,
        max_images=args.max_images,
        resize=args.resize,
        progress=args.progress,
        sigma=args.sigma,
    )
    report_path = prior_lib.save_prior(prior, report, args.output)
    print(json.dumps(report, indent=2))
    print(f"Saved the prior to {args.output} and the report to {report_path}.")
    return flags.EXIT_OK
