"""The `keras-colorful` command line: every job of the package, one flag vocabulary.

    keras-colorful colorize photos/ --output colorized/ --side-by-side
    keras-colorful demo --output demo_output
    keras-colorful train --data-dir photos/ --model-dir runs/a
    keras-colorful evaluate --data-dir eval/ --model runs/a/model.keras
    keras-colorful export saved_model --model runs/a/model.keras --output models/colorizer/1
    keras-colorful export tflite --model runs/a/model.keras --output colorizer.tflite
    keras-colorful compute-prior --data-dir photos/ --output prior.npy
    keras-colorful make-tfrecords --data-dir photos/ --output shards/train --shards 64
    keras-colorful data-service --role dispatcher --port 5050
    keras-colorful convert-weights --output eccv16.keras

Also `python -m keras_colorful ...`; the scripts in `scripts/` and `export/` run the same
commands. Each command is a module of this package that calls one library function; options
take both spellings (`--network-size`, `--network_size`) and booleans absl's forms (see
`flags`); `--model` is the bundled model unless given. TensorFlow's start-up messages stay off
the terminal unless --verbose (see `startup`). Exit status: 0 done, 1 failed, 2 usage error.

Example:

>>> args = build_parser().parse_args(["evaluate", "--data_dir=photos/", "--noprogress"])
>>> args.command, args.data_dir, args.progress, args.network_size, args.model
('evaluate', 'photos/', False, 256, None)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import keras_colorful
from keras_colorful.cli import (
    colorize,
    compute_prior,
    convert_weights,
    data_service,
    demo,
    evaluate,
    export,
    flags,
    make_tfrecords,
    startup,
    train,
)
from keras_colorful.cli.colorize import plan_outputs
from keras_colorful.cli.flags import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "UsageError", "build_parser", "console_main",
           "main", "plan_outputs"]

# In the order `keras-colorful --help` lists them.
COMMANDS = (colorize, demo, train, evaluate, export, compute_prior, make_tfrecords,
            data_service, convert_weights)
PROG = "keras-colorful"
# Exit status after Ctrl-C, as shells report it (128 + SIGINT).
EXIT_INTERRUPTED = 130
# Commands after which the process ends at once (`console_main`): all they write is closed and
# renamed before they return, and nothing of theirs waits for the interpreter's teardown.
FAST_EXIT_COMMANDS = ("colorize",)


def build_parser() -> flags.Parser:
    """The argument parser of `keras-colorful`, with one subparser per command."""
    parser = flags.Parser(
        prog=PROG,
        description="Colorful Image Colorization (Zhang, Isola, Efros, ECCV 2016) in Keras.",
        epilog=f"{flags.SPELLING_NOTE}\n`{PROG} COMMAND --help` lists a command's options.",
    )
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {keras_colorful.__version__}")
    flags.add_verbose(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs `keras-colorful` with `argv` (default: `sys.argv[1:]`); returns the exit status.

    Usage errors exit (SystemExit 2) with the command's usage; a library error (a ValueError or
    OSError, e.g. an empty photo folder) is one line on stderr and status 1, or its traceback
    with --verbose.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    verbose = flags.wants_verbose(argv)
    with startup.session(verbose):
        args = build_parser().parse_args(argv)
        startup.import_tensorflow()
        try:
            return args.run(args)
        except UsageError as error:
            args.command_parser.error(str(error))
        except (ValueError, OSError) as error:
            if verbose:
                raise
            print(f"{PROG}: error: {error} (--verbose shows the traceback)", file=sys.stderr)
            return EXIT_FAILED
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED


def console_main() -> None:
    """The `keras-colorful` and `python -m keras_colorful` entry point: `main()`, then exit.

    After a command of `FAST_EXIT_COMMANDS` has returned, stdout and stderr are flushed and the
    process ends with `os._exit`, skipping Python's teardown of TensorFlow (about a second that
    the user would wait for nothing). Errors and other commands exit the usual way.
    """
    argv = sys.argv[1:]
    status = main(argv)
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    if command in FAST_EXIT_COMMANDS:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)
