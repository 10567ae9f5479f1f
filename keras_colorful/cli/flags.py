"""The one flag vocabulary of `keras-colorful`: both spellings, absl booleans, shared flags.

Every option takes its dashed and its underscored spelling (`--network-size`, `--network_size`:
two option strings, one `dest`); every boolean takes `--flag`, `--noflag`, `--no-flag` and
`--flag=true|false` as absl flags do, so the absl command lines of the scripts still parse.
The shared flags (temperature, network size, progress, --verbose) are defined once, here, with
their defaults from `keras_colorful.constants`. Help shows the dashed spelling only.

Example:

>>> parser = Parser(prog="example")
>>> option(parser, "batch_size", type=positive_int, default=8)
>>> boolean(parser, "progress", True, "show progress bars")
>>> parser.parse_args(["--batch_size=4", "--progress=false"])
Namespace(batch_size=4, progress=False)
>>> parser.parse_args(["--batch-size", "2", "--noprogress"]).batch_size
2
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Callable, Sequence

from keras_colorful import constants

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

# absl's spellings of a boolean value.
TRUE_WORDS = ("true", "t", "1")
FALSE_WORDS = ("false", "f", "0")

SPELLING_NOTE = (
    "Every option also takes its underscored spelling (--network_size=256), every boolean\n"
    "--flag, --noflag, --no-flag and --flag=true|false."
)


class UsageError(Exception):
    """A problem with the command line (exit status 2, with the command's usage)."""


def spellings(name: str) -> list[str]:
    """The option strings of a flag named like its `dest`.

    >>> spellings("network_size"), spellings("model")
    (['--network-size', '--network_size'], ['--model'])
    """
    dashed = "--" + name.replace("_", "-")
    return [dashed] if "_" not in name else [dashed, "--" + name]


def parse_bool(text: str) -> bool:
    """An absl boolean value: true, t, 1 or false, f, 0 (any case)."""
    if text.lower() in TRUE_WORDS:
        return True
    if text.lower() in FALSE_WORDS:
        return False
    raise ValueError(f"expected true or false, got {text!r}")


class BooleanFlag(argparse.Action):
    """`--flag` sets True, `--noflag` and `--no-flag` False (`--flag=VALUE`: see `Parser`)."""

    def __init__(self, option_strings, dest, positive=(), **kwargs):
        super().__init__(option_strings, dest, nargs=0, **kwargs)
        self.positive = tuple(positive)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, option_string in self.positive)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows one spelling per option (`--[no-]flag` for booleans) and non-empty defaults."""

    def _format_action_invocation(self, action):
        if isinstance(action, BooleanFlag):
            shown = [s for s in action.option_strings if not s.startswith("--")]
            return ", ".join(shown + [f"--[no-]{action.positive[0][2:]}"])
        strings = action.option_strings
        dashed = [s for s in strings if not (s.startswith("--") and "_" in s
                                             and s.replace("_", "-") in strings)]
        if dashed == strings:
            return super()._format_action_invocation(action)
        shown = copy.copy(action)
        shown.option_strings = dashed
        return super()._format_action_invocation(shown)

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        hidden = default is None or default is False or default == argparse.SUPPRESS
        if hidden or "%(default)" in text or not action.option_strings:
            return text
        shown = str(default).lower() if isinstance(default, bool) else "%(default)s"
        return f"{text} (default: {shown})"


class Parser(argparse.ArgumentParser):
    """An `ArgumentParser` that reads absl's `--flag=true|false` for its boolean flags."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        return super().parse_known_args(self._spell_booleans(args), namespace)

    def _spell_booleans(self, args: list[str]) -> list[str]:
        """`--flag=false` as `--noflag`, `--flag=true` as `--flag`, for this parser's booleans."""
        spelled = []
        for index, arg in enumerate(args):
            if arg == "--":
                return spelled + args[index:]
            name, equals, value = arg.partition("=")
            action = self._option_string_actions.get(name)
            if not (equals and isinstance(action, BooleanFlag) and name in action.positive):
                spelled.append(arg)
                continue
            try:
                spelled.append(name if parse_bool(value) else "--no-" + name[2:])
            except ValueError as error:
                self.error(f"argument {name}: {error}")
        return spelled


def option(parser, name: str, *short: str, **kwargs) -> None:
    """Adds the option `name` (its `dest`) in both spellings, plus any `short` ones (`-o`)."""
    parser.add_argument(*short, *spellings(name), dest=name, **kwargs)


def boolean(parser, name: str, default: bool | None, help: str, *short: str) -> None:
    """Adds the boolean `name`: `--name`, `--noname`, `--no-name`, `--name=true|false`."""
    positive = spellings(name)
    negative = [prefix + spelling[2:] for spelling in positive for prefix in ("--no", "--no-")]
    parser.add_argument(*short, *positive, *negative, dest=name, action=BooleanFlag,
                        positive=positive, default=default, help=help)


# --- values ------------------------------------------------------------------------------------


def _checked(kind: Callable, test: Callable, requirement: str) -> Callable[[str], object]:
    def parse(text: str):
        value = kind(text)
        if not test(value):
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in "invalid int value" messages
    return parse


positive_int = _checked(int, lambda value: value >= 1, ">= 1")
non_negative_int = _checked(int, lambda value: value >= 0, ">= 0")
positive_float = _checked(float, lambda value: value > 0, "> 0")
non_negative_float = _checked(float, lambda value: value >= 0, ">= 0")
percent = _checked(int, lambda value: 1 <= value <= 100, "from 1 to 100")


def network_size(text: str) -> int | None:
    """A network size: a multiple of 8, or "native" or 0 (None: each photo's own size)."""
    from keras_colorful.cli import startup

    startup.import_tensorflow()  # quietly, before the pipeline module imports it
    from keras_colorful.inference import pipeline

    try:
        return pipeline.parse_network_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def fixed_size(text: str) -> int:
    """A network size that must be a number (a TFLite model's input is fixed)."""
    size = network_size(text)
    if size is None:
        raise argparse.ArgumentTypeError(
            f"must be a multiple of {constants.SIZE_MULTIPLE}: TFLite models have a fixed "
            f"input size, got {text}"
        )
    return size


# --- flags shared by the commands --------------------------------------------------------------


def add_temperature(parser, help: str = "annealed-mean temperature: lower is more saturated"):
    option(parser, "temperature", "-t", type=positive_float,
           default=constants.ANNEALED_MEAN_TEMPERATURE, metavar="T", help=help)


def add_network_size(parser, name: str = "network_size") -> None:
    option(parser, name, type=network_size, default=constants.DEMO_NETWORK_SIZE, metavar="N",
           help=f"size the network runs at, a multiple of {constants.SIZE_MULTIPLE}, or "
           f"{constants.NATIVE_NETWORK_SIZE!r} (or 0) for each photo's own size, as the "
           "release's demo")


def add_progress(parser) -> None:
    boolean(parser, "progress", True, "show progress bars (on stderr)")


def add_verbose(parser, default=False) -> None:
    boolean(parser, "verbose", default,
            "show TensorFlow's start-up messages and warnings, and tracebacks of errors")


def wants_verbose(argv: Sequence[str]) -> bool:
    """Whether `argv` asks for --verbose, read before the rest (parsing may import TensorFlow).

    >>> wants_verbose(["colorize", "x.jpg", "--verbose"]), wants_verbose(["--verbose=false"])
    (True, False)
    """
    parser = Parser(prog="keras-colorful", add_help=False, allow_abbrev=False)
    add_verbose(parser)
    return parser.parse_known_args(argv)[0].verbose


def command(commands, name: str, run: Callable, help: str, description: str | None,
            aliases: Sequence[str] = ()) -> Parser:
    """A subcommand's parser: runs `run(args)`, takes --verbose, and its docstring as help."""
    parser = commands.add_parser(name, help=help, description=description, aliases=aliases,
                                 epilog=SPELLING_NOTE)
    parser.set_defaults(run=run, command_parser=parser)
    add_verbose(parser, default=argparse.SUPPRESS)  # also after the command; the top level's
    return parser
