"""Colorize the bundled black-and-white demo photos: one PNG per photo and grid.png.

    keras-colorful demo --output demo_output
    keras-colorful demo --model eccv16 --output demo_eccv16
"""

from __future__ import annotations

import argparse

from keras_colorful.cli import flags, model_source

DEFAULT_OUTPUT = "demo_output"


def add_parser(commands) -> None:
    parser = flags.command(commands, "demo", run,
                           help="colorize the bundled demo photos, with a gray | colour grid",
                           description=__doc__)
    flags.option(parser, "output", "-o", default=DEFAULT_OUTPUT, metavar="DIR",
                 help="folder for the colorized photos and grid.png")
    model_source.add_model_flags(parser)
    flags.add_temperature(parser)
    flags.add_network_size(parser)


def run(args: argparse.Namespace) -> int:
    colorizer = model_source.load_colorizer(args)
    from keras_colorful import demo

    result = demo.colorize_demo(colorizer, args.output, temperature=args.temperature)
    for path in result["colorized"]:
        print(f"wrote {path}")
    print(f"wrote {result['grid']}")
    return flags.EXIT_OK
