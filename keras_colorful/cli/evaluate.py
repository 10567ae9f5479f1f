"""Evaluate as in the paper on a folder of colour photos, next to two baselines.

    keras-colorful evaluate --data-dir eval/ --model runs/a/model.keras --output report.json

For every colour photo under --data_dir: L in, ab out at the photo's resolution; AuC of the ab
errors (thresholds 0..150), class-rebalanced AuC (ImageNet prior, lambda 0), PSNR of the RGB
reconstruction, all pooled over every pixel of every photo, for the model and two baselines
(gray, ab = 0; the data set's mean ab). Prints a markdown table; --output writes the full
report (with the curves) as JSON, --contact_sheet a PNG of gray | prediction | truth rows.
"""

from __future__ import annotations

import argparse
import json

from keras_colorful import files
from keras_colorful.cli import flags, model_source

NUM_SHEET_IMAGES = 8


def add_parser(commands) -> None:
    parser = flags.command(commands, "evaluate", run,
                           help="AuC, rebalanced AuC and PSNR on a folder, with baselines",
                           description=__doc__)
    flags.option(parser, "data_dir", required=True, metavar="DIR",
                 help="folder of colour photos (searched recursively) or a glob")
    model_source.add_model_flags(parser)
    flags.add_network_size(parser)
    flags.add_temperature(parser, "annealed-mean temperature (paper: 0.38)")
    flags.option(parser, "max_images", type=flags.positive_int, default=None, metavar="N",
                 help="evaluate only the first photos (default: all)")
    flags.option(parser, "output", "-o", default=None, metavar="FILE",
                 help="write the JSON report here")
    flags.option(parser, "contact_sheet", default=None, metavar="FILE",
                 help="write a gray | prediction | truth PNG here")
    flags.option(parser, "num_sheet_images", type=flags.positive_int, default=NUM_SHEET_IMAGES,
                 metavar="N", help="rows of the contact sheet")
    flags.add_progress(parser)


def run(args: argparse.Namespace) -> int:
    colorizer = model_source.load_colorizer(args)
    from keras_colorful import evaluation

    report = evaluation.evaluate_folder(
        colorizer,
        args.data_dir,
        temperature=args.temperature,
        max_images=args.max_images,
        contact_sheet_path=args.contact_sheet,
        num_sheet_images=args.num_sheet_images,
        progress=args.progress,
    )
    print(evaluation.format_markdown(report))
    if args.output:
        output = files.write_text(args.output, json.dumps(report, indent=2))
        print(f"Wrote the report to {output}.")
    if report["contact_sheet"]:
        print(f"Wrote the contact sheet to {report['contact_sheet']}.")
    if report["num_skipped"]:
        print(f"Skipped {report['num_skipped']} unreadable files: {report['skipped_files']}")
    return flags.EXIT_OK
