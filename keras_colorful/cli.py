"""The `keras-colorful` console script: colorize photos, export models.

    keras-colorful colorize photos/ old.jpg "scans/**/*.png" --output colorized/ --side-by-side
    keras-colorful colorize photo.jpg --output out/ --model runs/a/model.keras --temperature 0.3
    keras-colorful export saved_model --model runs/a/model.keras --output models/colorizer/1
    keras-colorful export tflite --model runs/a/model.keras --output colorizer.tflite

`colorize` takes files, folders (searched recursively) and glob patterns; every image is written
as PNG under the output folder with its path relative to the folder (or glob root) it was found
in, so equal names in different folders do not collide. A file that fails is reported by name on
stderr while the others are still processed. Exit status: 0 when every image was written, 1
when any failed, 2 for usage errors (bad flags, a model that cannot be loaded).

Also runs as `python -m keras_colorful.cli`. Flags are parsed only in `main`.
"""

from __future__ import annotations

import argparse
import glob
import os
import pathlib
import sys
from collections.abc import Sequence

from keras_colorful import constants  # plain numbers: keeps --help fast (no TensorFlow)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

OUTPUT_SUFFIX = ".png"
DEFAULT_BATCH_SIZE = 8


class UsageError(Exception):
    """A problem with the command line (exit status 2)."""


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _network_size(text: str) -> int | None:
    """A --network-size value: a multiple of 8, or "native" (None: each image's own size)."""
    from keras_colorful.inference import pipeline

    try:
        return pipeline.parse_network_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _model_flags() -> argparse.ArgumentParser:
    """The --model and --weights-path flags every subcommand that loads a model takes."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--model",
        "-m",
        default=None,
        metavar="PATH_OR_NAME",
        help=".keras file, SavedModel directory (colorize only) or released weights name "
        "(default: bundled)",
    )
    parent.add_argument(
        "--weights-path", default=None, metavar="PATH", help="local weights for a named model"
    )
    return parent


def _temperature_flag(help_text: str) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--temperature",
        "-t",
        type=_positive_float,
        default=constants.ANNEALED_MEAN_TEMPERATURE,
        help=help_text + " (default %(default)s)",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `keras-colorful` (subcommands `colorize` and `export`)."""
    parser = argparse.ArgumentParser(
        prog="keras-colorful",
        description="Colorful Image Colorization (Zhang, Isola, Efros, ECCV 2016) in Keras.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    model_flags = _model_flags()
    network_size_help = (
        f"size the network runs at, a multiple of 8, or {constants.NATIVE_NETWORK_SIZE!r} for "
        "each image's own size (default: %(default)s, as the release's demo)"
    )

    colorize = commands.add_parser(
        "colorize",
        parents=[model_flags, _temperature_flag("annealed-mean temperature: lower is more saturated")],
        help="colorize image files, folders (recursive) and glob patterns",
        description="Colorize images; writes <output>/<relative path>.png for every input.",
    )
    colorize.add_argument("inputs", nargs="+", metavar="INPUT", help="file, folder or glob")
    colorize.add_argument("--output", "-o", required=True, metavar="DIR", help="output folder")
    colorize.add_argument(
        "--side-by-side",
        action="store_true",
        help="write gray | colorized (| original, for colour inputs) grids",
    )
    colorize.add_argument(
        "--batch-size", type=_positive_int, default=DEFAULT_BATCH_SIZE, metavar="N",
        help="images per network call (default %(default)s)",
    )
    colorize.add_argument(
        "--network-size", type=_network_size, default=constants.DEMO_NETWORK_SIZE, metavar="N",
        help=network_size_help,
    )
    colorize.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    export = commands.add_parser("export", help="export a model for serving")
    formats = export.add_subparsers(dest="format", required=True, metavar="FORMAT")
    saved_model = formats.add_parser(
        "saved_model",
        parents=[model_flags, _temperature_flag("temperature of the signatures without one")],
        help="SavedModel for TF Serving (decode baked in)",
    )
    saved_model.add_argument("--output", "-o", required=True, metavar="DIR",
                             help="version directory, e.g. models/colorizer/1")
    saved_model.add_argument("--network-size", type=_network_size,
                             default=constants.DEMO_NETWORK_SIZE, metavar="N",
                             help=network_size_help)
    saved_model.add_argument("--overwrite", action="store_true")

    tflite = formats.add_parser(
        "tflite",
        parents=[model_flags, _temperature_flag("annealed-mean temperature of the ab output")],
        help="TFLite model for mobile (builtin ops, annealed mean baked in)",
    )
    tflite.add_argument("--output", "-o", required=True, metavar="FILE",
                        help="the .tflite file to write")
    tflite.add_argument("--quantization", default=constants.QUANTIZATIONS[0],
                        choices=constants.QUANTIZATIONS)
    tflite.add_argument("--size", type=_network_size, default=constants.DEMO_NETWORK_SIZE,
                        metavar="N",
                        help="fixed input height and width, a multiple of 8 (default %(default)s)")
    tflite.add_argument("--input-type", default=constants.TFLITE_INPUT_TYPES[0],
                        choices=constants.TFLITE_INPUT_TYPES)
    tflite.add_argument("--representative-dir", default=None, metavar="DIR",
                        help="photos (folder or glob) to calibrate int8 on")
    tflite.add_argument("--num-calibration-images", type=_positive_int, default=100, metavar="N")
    return parser


def _glob_root(pattern: str) -> pathlib.Path:
    """The leading folders of a glob pattern that hold no wildcard."""
    parts = []
    for part in pathlib.Path(pattern).parts[:-1]:
        if glob.has_magic(part):
            break
        parts.append(part)
    return pathlib.Path(*parts) if parts else pathlib.Path(".")


def _is_within(path: pathlib.Path, folder: pathlib.Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def plan_outputs(
    inputs: Sequence[str], output_dir: str | os.PathLike
) -> tuple[list[tuple[str, pathlib.Path]], list[tuple[str, str]]]:
    """Pairs every input image with its output path; inputs that name no image are errors.

    A folder's images keep their path relative to the folder, a glob's relative to its root
    (the folders before the first wildcard), a file is written under its name; the suffix
    becomes `.png`. Names that would still collide get `_2`, `_3`, ... Images already under
    `output_dir` are skipped when found through a folder or glob (a rerun does not colorize
    its own outputs); a file named twice is done once.

    Args:
        inputs: files, folders and glob patterns.
        output_dir: the output folder.

    Returns:
        (jobs, errors): `[(image path, output path)]` and `[(input, reason)]`.

    Example:

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("a/x.jpg", "b/x.jpg", "b/c/y.png"):
    ...     (folder / name).parent.mkdir(parents=True, exist_ok=True)
    ...     _ = (folder / name).write_bytes(b"")
    >>> jobs, errors = plan_outputs([str(folder)], "out")
    >>> [str(output) for _, output in jobs]
    ['out/a/x.png', 'out/b/c/y.png', 'out/b/x.png']
    """
    from keras_colorful.data import sources  # imports TensorFlow: only when needed

    output_dir = pathlib.Path(output_dir)
    jobs: list[tuple[str, pathlib.Path]] = []
    errors: list[tuple[str, str]] = []
    seen_inputs: set[pathlib.Path] = set()
    used_outputs: set[pathlib.Path] = set()
    for source in inputs:
        expanded = os.path.expanduser(source)
        try:
            files = sources.list_image_files(expanded)
        except ValueError as error:
            errors.append((source, str(error)))
            continue
        if glob.has_magic(expanded):
            root = _glob_root(expanded)
        elif os.path.isdir(expanded):
            root = pathlib.Path(expanded)
        else:
            root = pathlib.Path(expanded).parent
        searched = glob.has_magic(expanded) or os.path.isdir(expanded)
        for file in files:
            path = pathlib.Path(file)
            if path.resolve() in seen_inputs or (searched and _is_within(path, output_dir)):
                continue
            seen_inputs.add(path.resolve())
            relative = pathlib.Path(os.path.relpath(path, root)).with_suffix(OUTPUT_SUFFIX)
            if relative.parts and relative.parts[0] == os.pardir:  # outside the root: flatten
                relative = pathlib.Path(relative.name)
            output = output_dir / relative
            number = 1
            while output in used_outputs:
                number += 1
                output = output_dir / relative.with_name(
                    f"{relative.stem}_{number}{OUTPUT_SUFFIX}"
                )
            used_outputs.add(output)
            jobs.append((file, output))
    return jobs, errors


def _colorize_command(args: argparse.Namespace) -> int:
    import tqdm

    from keras_colorful import image_io, loading
    from keras_colorful.inference import full_resolution

    output_dir = pathlib.Path(args.output)
    if output_dir.exists() and not output_dir.is_dir():
        raise UsageError(f"--output {args.output!r} exists and is not a folder.")
    try:
        colorizer = loading.load(
            args.model, weights_path=args.weights_path, network_size=args.network_size
        )
    except (ValueError, TypeError, OSError) as error:
        raise UsageError(f"cannot load the model: {error}") from error

    jobs, input_errors = plan_outputs(args.inputs, output_dir)
    failures = []

    def report(name: str, error) -> None:
        failures.append(name)
        tqdm.tqdm.write(f"keras-colorful: error: {name}: {error}", file=sys.stderr)

    for source, error in input_errors:
        report(source, error)
    written = 0
    with tqdm.tqdm(
        total=len(jobs), unit="image", file=sys.stderr, disable=args.quiet or None
    ) as progress:
        for start in range(0, len(jobs), args.batch_size):
            batch = jobs[start : start + args.batch_size]
            readable = []
            for path, output in batch:
                try:
                    readable.append((path, output, image_io.read_image(path)))
                except ValueError as error:
                    report(path, error)
            try:
                colorized = colorizer.colorize(
                    [image for _, _, image in readable], args.temperature, args.batch_size
                )
            except Exception:  # find the culprit: one image at a time
                colorized = []
                for path, _, image in readable:
                    try:
                        colorized.append(colorizer.colorize(image, args.temperature))
                    except Exception as error:
                        report(path, error)
                        colorized.append(None)
            for (path, output, original), result in zip(readable, colorized, strict=True):
                if result is None:
                    continue
                try:
                    if args.side_by_side:
                        result = full_resolution.comparison_grid(original, result)
                    image_io.write_image(output, result)
                    written += 1
                except (OSError, ValueError) as error:
                    report(path, error)
            progress.update(len(batch))
    print(
        f"Colorized {written} images into {output_dir}"
        + (f"; {len(failures)} failed (see the errors above)." if failures else "."),
        file=sys.stderr,
    )
    return EXIT_FAILED if failures else EXIT_OK


def _export_command(args: argparse.Namespace) -> int:
    from keras_colorful import loading

    try:
        net = loading.load_network(args.model, weights_path=args.weights_path)
    except (ValueError, TypeError, OSError) as error:
        raise UsageError(f"cannot load the model: {error}") from error
    if args.format == "tflite":
        return _export_tflite(net, args)
    from keras_colorful.export import saved_model_lib

    try:
        path = saved_model_lib.export_saved_model(
            net,
            args.output,
            network_size=args.network_size,
            temperature=args.temperature,
            overwrite=args.overwrite,
        )
    except FileExistsError as error:
        raise UsageError(str(error)) from error
    print(f"Wrote the SavedModel {path}", file=sys.stderr)
    return EXIT_OK


def _export_tflite(net, args: argparse.Namespace) -> int:
    from keras_colorful.data import sources
    from keras_colorful.export import tflite_lib

    if args.size is None:
        raise UsageError("--size must be a number: TFLite models have a fixed input size.")
    photos = None
    if args.representative_dir:
        try:
            photos = sources.list_image_files(args.representative_dir)
        except ValueError as error:
            raise UsageError(str(error)) from error
    try:
        model = tflite_lib.convert(
            net,
            args.quantization,
            args.size,
            representative_images=photos,
            temperature=args.temperature,
            input_type=args.input_type,
            num_calibration_images=args.num_calibration_images,
        )
    except ValueError as error:  # e.g. int8 without --representative-dir
        raise UsageError(str(error)) from error
    output = pathlib.Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(model)
    print(f"Wrote the {args.quantization} TFLite model {output}: {len(model) / 1e6:.2f} MB",
          file=sys.stderr)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Runs `keras-colorful` with `argv` (default: `sys.argv[1:]`); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ INFO/WARNING lines
    command = {"colorize": _colorize_command, "export": _export_command}[args.command]
    try:
        return command(args)
    except UsageError as error:
        parser.exit(EXIT_USAGE, f"{parser.prog}: error: {error}\n")
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
