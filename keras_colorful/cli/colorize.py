"""Colorize image files, folders (searched recursively) and glob patterns.

    keras-colorful colorize photos/ old.jpg "scans/**/*.png" --output colorized/ --side-by-side
    keras-colorful colorize photo.jpg -o out/ --model runs/a/model.keras --temperature 0.3
    keras-colorful colorize photos/ -o out/ --format jpg --quality 90 --network-size native

Every image is written under the output folder with its path relative to the folder (or glob
root) it was found in, in --format, so equal names in different folders do not collide. Nothing
that exists is written over: not an input (ever), not another file (unless --overwrite; or
--skip-existing keeps them and skips their images); an --output inside an input folder is a usage
error. Only the formats `image_io.READABLE_FORMATS` are opened (TIFF included), and images above
--max-pixels are refused before they are decoded. A file that fails is reported by name on
stderr while the others are still processed. Reading, the network and writing overlap (threads
with bounded queues), with the same outputs as one photo after another. Each output is written
to a temporary name and renamed. Exit status: 0 when every image was written, 1 when any failed
or none was planned, 2 for usage errors (bad flags, a model that cannot be loaded, outputs that
exist).
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import glob
import os
import pathlib
import sys
from collections.abc import Sequence

from keras_colorful.cli import flags, model_source

OUTPUT_FORMATS = ("png", "jpg", "webp")
OUTPUT_SUFFIX = ".png"
DEFAULT_BATCH_SIZE = 8
# Threads that decode photos ahead of the network, and threads that encode and write results
# (PNG encoding is most of the work: one per core; benchmarks/RESULTS.md has the measurements).
READ_THREADS = 2
WRITE_THREADS = max(2, os.cpu_count() or 1)
# How many existing outputs a refusal names.
NUM_CONFLICTS_NAMED = 5


def add_parser(commands) -> None:
    parser = flags.command(commands, "colorize", run,
                           help="colorize image files, folders (recursive) and glob patterns",
                           description=__doc__)
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="file, folder or glob")
    flags.option(parser, "output", "-o", required=True, metavar="DIR", help="output folder")
    model_source.add_model_flags(parser)
    flags.add_temperature(parser)
    flags.add_network_size(parser)
    flags.boolean(parser, "side_by_side", False,
                  "write gray | colorized (| original, for colour inputs) grids")
    flags.option(parser, "batch_size", type=flags.positive_int, default=DEFAULT_BATCH_SIZE,
                 metavar="N", help="images per network call")
    flags.option(parser, "format", choices=OUTPUT_FORMATS, default=OUTPUT_FORMATS[0],
                 help="image format of the outputs (and their suffix)")
    flags.option(parser, "quality", type=flags.percent, default=None, metavar="Q",
                 help="jpg and webp quality, 1-100 (default: Pillow's, 75 for jpg, 80 for webp)")
    flags.option(parser, "png_compression", type=int, choices=range(10), default=None,
                 metavar="LEVEL", help="png zlib level, 0-9 (default: Pillow's 6; 1 writes "
                 "several times faster, files about 15%% larger)")
    flags.boolean(parser, "overwrite", False, "replace outputs that exist (never an input)")
    flags.boolean(parser, "skip_existing", False,
                  "keep outputs that exist and skip their images (to finish an interrupted run)")
    flags.option(parser, "max_pixels", type=flags.positive_int, default=None, metavar="N",
                 help="refuse images with more pixels, before decoding them (default: "
                 "image_io.MAX_PIXELS, 100 million)")
    flags.add_progress(parser)
    parser.add_argument("-q", "--quiet", dest="progress", action="store_false",
                        default=argparse.SUPPRESS, help="no progress bar (as --noprogress)")


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
    inputs: Sequence[str], output_dir: str | os.PathLike, suffix: str = OUTPUT_SUFFIX
) -> tuple[list[tuple[str, pathlib.Path]], list[tuple[str, str]]]:
    """Pairs every input image with its output path; inputs that name no image are errors.

    A folder's images keep their path relative to the folder, a glob's relative to its root
    (the folders before the first wildcard), a file is written under its name; the suffix
    becomes `suffix`. Names that would still collide get `_2`, `_3`, ... Images already under
    `output_dir` are skipped when found through a folder or glob (a rerun does not colorize
    its own outputs); a file named twice is done once.

    Args:
        inputs: files, folders and glob patterns.
        output_dir: the output folder.
        suffix: the suffix of the outputs, e.g. ".png" or ".jpg".

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
    >>> [str(output) for _, output in plan_outputs([str(folder / "a")], "out", ".webp")[0]]
    ['out/x.webp']
    """
    from keras_colorful import image_io
    from keras_colorful.data import sources  # imports TensorFlow: only when needed

    output_dir = pathlib.Path(output_dir)
    jobs: list[tuple[str, pathlib.Path]] = []
    errors: list[tuple[str, str]] = []
    seen_inputs: set[pathlib.Path] = set()
    used_outputs: set[pathlib.Path] = set()
    for source in inputs:
        expanded = os.path.expanduser(source)
        try:
            files = sources.list_image_files(expanded, image_io.READABLE_EXTENSIONS)
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
            relative = pathlib.Path(os.path.relpath(path, root)).with_suffix(suffix)
            if relative.parts and relative.parts[0] == os.pardir:  # outside the root: flatten
                relative = pathlib.Path(relative.name)
            output = output_dir / relative
            number = 1
            while output in used_outputs:
                number += 1
                output = output_dir / relative.with_name(f"{relative.stem}_{number}{suffix}")
            used_outputs.add(output)
            jobs.append((file, output))
    return jobs, errors


def _input_folders(inputs: Sequence[str]) -> list[pathlib.Path]:
    """The folders the inputs search: folders given, and the roots of glob patterns."""
    folders = []
    for source in inputs:
        expanded = os.path.expanduser(source)
        if glob.has_magic(expanded):
            folders.append(_glob_root(expanded))
        elif os.path.isdir(expanded):
            folders.append(pathlib.Path(expanded))
    return folders


def check_destinations(
    inputs: Sequence[str], output_dir: pathlib.Path, jobs, overwrite: bool, skip_existing: bool
):
    """The jobs to run, once no output would write over an input or, unless asked, a file.

    Returns:
        (jobs, refused): the jobs to run, and `[(input, reason)]` of those refused because their
        output is an input file (never written over, even with `overwrite`).

    Raises:
        UsageError: the output folder is (inside) an input folder; or outputs exist and neither
            `overwrite` nor `skip_existing` says what to do with them.

    Example:

    >>> import tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> check_destinations([str(folder / "photos")], folder / "out", [], False, False)
    ([], [])
    >>> check_destinations([str(folder)], folder / "out", [], False, False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    keras_colorful.cli.flags.UsageError: --output ... is an input folder or inside one...
    """
    for folder in _input_folders(inputs):
        if _is_within(output_dir, folder):
            raise flags.UsageError(
                f"--output {str(output_dir)!r} is an input folder or inside one ({str(folder)!r}):"
                " its photos and the outputs would mix. Give an --output outside the inputs."
            )
    input_files = {pathlib.Path(path).resolve() for path, _ in jobs}
    kept, refused, existing = [], [], []
    for path, output in jobs:
        if output.resolve() in input_files:
            refused.append((path, f"its output {str(output)!r} is an input photo; not written"))
        elif output.exists() and not overwrite:
            existing.append((path, output))
        else:
            kept.append((path, output))
    if existing and not skip_existing:
        named = ", ".join(repr(str(output)) for _, output in existing[:NUM_CONFLICTS_NAMED])
        more = len(existing) - NUM_CONFLICTS_NAMED
        raise flags.UsageError(
            f"{len(existing)} outputs exist already ({named}{f' and {more} more' if more > 0 else ''})"
            "; nothing was written. Pass --overwrite to replace them, --skip-existing to keep "
            "them, or another --output."
        )
    return kept, refused


def _bounded_map(function, items, threads: int, window: int):
    """(item, future) of `function(item)` in order, at most `window` running ahead."""
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        pending = collections.deque()
        for item in items:
            pending.append((item, pool.submit(function, item)))
            if len(pending) >= window:
                yield pending.popleft()
        while pending:
            yield pending.popleft()


def run(args: argparse.Namespace) -> int:
    import tqdm

    from keras_colorful import image_io
    from keras_colorful.inference import full_resolution

    if args.quality is not None and args.format == "png":
        raise flags.UsageError("--quality applies to --format jpg and webp, not png.")
    if args.png_compression is not None and args.format != "png":
        raise flags.UsageError("--png-compression applies to --format png only.")
    if args.overwrite and args.skip_existing:
        raise flags.UsageError("--overwrite and --skip-existing exclude each other.")
    output_dir = pathlib.Path(args.output)
    if output_dir.exists() and not output_dir.is_dir():
        raise flags.UsageError(f"--output {args.output!r} exists and is not a folder.")
    max_pixels = args.max_pixels or image_io.MAX_PIXELS
    planned, input_errors = plan_outputs(args.inputs, output_dir, "." + args.format)
    jobs, refused = check_destinations(
        args.inputs, output_dir, planned, args.overwrite, args.skip_existing
    )
    skipped = len(planned) - len(jobs) - len(refused)
    failures = []

    def report(name: str, error) -> None:
        failures.append(name)
        tqdm.tqdm.write(f"keras-colorful: error: {name}: {error}", file=sys.stderr)

    for source, error in input_errors + refused:
        report(source, error)
    if not jobs:
        why = f"all {skipped} outputs exist (--skip-existing)" if skipped else "none was found"
        print(f"keras-colorful: no images to colorize: {why}.", file=sys.stderr)
        return flags.EXIT_FAILED if not skipped or failures else flags.EXIT_OK
    colorizer = model_source.load_colorizer(args)

    def read(job):
        return image_io.read_image(job[0], max_pixels=max_pixels)

    def write(item):
        (path, output), original, result = item
        if args.side_by_side:
            result = full_resolution.comparison_grid(original, result)
        image_io.write_image(output, result, quality=args.quality,
                             png_compression=args.png_compression)

    window = max(2 * args.batch_size, 2 * WRITE_THREADS)  # photos in flight, read or written
    written = 0
    with tqdm.tqdm(total=len(jobs), unit="image", file=sys.stderr,
                   disable=None if args.progress else True) as progress, \
            concurrent.futures.ThreadPoolExecutor(WRITE_THREADS) as writers:
        writes = collections.deque()

        def finish_writes(keep: int) -> None:
            nonlocal written
            while len(writes) > keep:
                path, future = writes.popleft()
                try:
                    future.result()
                    written += 1
                except Exception as error:  # one file fails alone, with its name
                    report(path, error)
                progress.update(1)

        def colorize_batch(batch) -> None:
            try:
                results = colorizer.colorize([image for _, image in batch], args.temperature,
                                             args.batch_size)
            except Exception:  # find the culprit: one image at a time
                results = []
                for job, image in batch:
                    try:
                        results.append(colorizer.colorize(image, args.temperature))
                    except Exception as error:
                        report(job[0], error)
                        progress.update(1)
                        results.append(None)
            for (job, image), result in zip(batch, results, strict=True):
                if result is not None:
                    writes.append((job[0], writers.submit(write, (job, image, result))))
            finish_writes(window)

        batch = []
        for job, future in _bounded_map(read, jobs, READ_THREADS, window):
            try:
                batch.append((job, future.result()))
            except Exception as error:  # unreadable, a bomb, a format not opened: alone
                report(job[0], error)
                progress.update(1)
            if len(batch) == args.batch_size:
                colorize_batch(batch)
                batch = []
        if batch:
            colorize_batch(batch)
        finish_writes(0)
    print(
        f"Colorized {written} images into {output_dir}"
        + (f"; kept {skipped} existing outputs" if skipped else "")
        + (f"; {len(failures)} failed (see the errors above)." if failures else "."),
        file=sys.stderr,
    )
    return flags.EXIT_FAILED if failures else flags.EXIT_OK
