"""The model flags (--model, --weights_path, --preset) and the one place commands load a model.

`--model` takes what `keras_colorful.load` takes and defaults to the bundled model in every
command; the exports also take `--preset` instead, a network with random weights (seeded, so the
same every time). Loading first says "Loading model: <source> ..." on stderr, because it takes
seconds; a model that cannot be loaded is a usage error (exit status 2).

Example:

>>> import argparse
>>> describe(argparse.Namespace(model=None, weights_path=None))
'the bundled model'
>>> describe(argparse.Namespace(model="eccv16", weights_path="release.pth", preset=None))
'eccv16 (weights release.pth)'
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator

from keras_colorful import presets
from keras_colorful.cli import flags

# `--preset` networks are initialised from this seed.
PRESET_SEED = 0


def add_model_flags(parser, preset: bool = False) -> None:
    """Adds --model and --weights_path, and with `preset` the alternative --preset."""
    sources = parser.add_mutually_exclusive_group() if preset else parser
    kinds = "a .keras file" if preset else "a .keras file, a SavedModel directory"
    flags.option(sources, "model", "-m", default=None, metavar="PATH_OR_NAME",
                 help=f"{kinds} or released weights ({', '.join(presets.RELEASED_WEIGHTS)}); "
                 "default: the bundled model")
    if preset:
        flags.option(sources, "preset", default=None, choices=sorted(presets.PRESETS),
                     help=f"instead of --model: a network with random weights (seed "
                     f"{PRESET_SEED}), to try the plumbing")
    flags.option(parser, "weights_path", default=None, metavar="PATH",
                 help="a local copy of the weights of a named --model (e.g. the authors' .pth)")


def describe(args: argparse.Namespace) -> str:
    """The model the flags name, in words."""
    if getattr(args, "preset", None):
        return f"the {args.preset!r} preset with random weights (seed {PRESET_SEED})"
    if args.model is None:
        return "the bundled model"
    return args.model + (f" (weights {args.weights_path})" if args.weights_path else "")


@contextlib.contextmanager
def _loading(args: argparse.Namespace) -> Iterator[None]:
    """Says what is loading, and turns a model that cannot be loaded into a usage error."""
    print(f"Loading model: {describe(args)} ...", file=sys.stderr, flush=True)
    try:
        yield
    except (ValueError, TypeError, OSError) as error:
        raise flags.UsageError(f"cannot load the model: {error}") from error


def load_network(args: argparse.Namespace):
    """The Keras logits network the flags name (`loading.load_network`, or a preset)."""
    with _loading(args):
        from keras_colorful import loading, models

        if getattr(args, "preset", None):
            return models.build_model(args.preset, seed=PRESET_SEED)
        return loading.load_network(args.model, weights_path=args.weights_path)


def load_colorizer(args: argparse.Namespace):
    """The `Colorizer` the flags name (`keras_colorful.load`), at `args.network_size`."""
    with _loading(args):
        from keras_colorful import loading

        return loading.load(
            args.model, weights_path=args.weights_path, network_size=args.network_size
        )
