"""Export a model: a SavedModel for TF Serving, or a TFLite model for phones.

    keras-colorful export saved_model --model runs/a/model.keras --output models/colorizer/1
    keras-colorful export tflite --model runs/a/model.keras --quantization int8 --size 256 \\
        --representative-dir photos/ --evaluate-dir other_photos/ --output colorizer.tflite
    keras-colorful export tflite --input-type rgb_image --quantization dynamic_int8 \\
        --representative-dir photos/ --output colorizer.tflite

Both bake the decode (annealed mean) into the model; without --model they export the bundled
model, with --preset a network with random weights. The int8 and dynamic_int8 conversions check
their colours against the float32 network on the calibration photos (or --evaluate-dir) and
refuse to write a model over the thresholds. Neither replaces an existing version folder or
.tflite file unless --overwrite. Signatures, inputs and outputs: export/README.md.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

from keras_colorful import constants, files
from keras_colorful.cli import flags, model_source

# The library's, from `constants` (importing keras_colorful.export would import TensorFlow).
DEFAULT_MAX_PIXELS = constants.SERVING_MAX_PIXELS
DEFAULT_JPEG_QUALITY = constants.SERVING_JPEG_QUALITY
INPUT_TYPES = constants.TFLITE_INPUT_TYPES + constants.TFLITE_IMAGE_INPUT_TYPES
GATED_QUANTIZATIONS = tuple(constants.TFLITE_ACCURACY_LIMITS)


def add_parser(commands) -> None:
    export = commands.add_parser("export", help="export a model for serving (SavedModel, TFLite)",
                                 description=__doc__, epilog=flags.SPELLING_NOTE)
    flags.add_verbose(export, default=argparse.SUPPRESS)
    formats = export.add_subparsers(dest="format", required=True, metavar="FORMAT")

    saved_model = flags.command(formats, "saved_model", run_saved_model, aliases=["saved-model"],
                                help="SavedModel for TF Serving (decode baked in)",
                                description=__doc__)
    model_source.add_model_flags(saved_model, preset=True)
    flags.option(saved_model, "output", "-o", required=True, metavar="DIR",
                 help="the version folder TF Serving serves, ending in a number, e.g. "
                 "models/colorizer/1")
    flags.add_network_size(saved_model)
    flags.add_temperature(saved_model, "temperature of the signatures without one")
    flags.option(saved_model, "max_pixels", type=flags.positive_int, default=DEFAULT_MAX_PIXELS,
                 metavar="N", help="refuse images of more pixels (height x width), read from "
                 "their header before decoding")
    flags.option(saved_model, "jpeg_quality", type=flags.percent, default=DEFAULT_JPEG_QUALITY,
                 metavar="Q", help="quality of the serving_jpeg signature's JPEGs")
    flags.boolean(saved_model, "overwrite", False, "replace an existing version folder")

    tflite = flags.command(formats, "tflite", run_tflite,
                           help="TFLite model for mobile (builtin ops, annealed mean baked in)",
                           description=__doc__)
    model_source.add_model_flags(tflite, preset=True)
    flags.option(tflite, "output", "-o", required=True, metavar="FILE",
                 help="the .tflite file to write (its description goes beside it, FILE.json)")
    flags.option(tflite, "quantization", default=constants.QUANTIZATIONS[0],
                 choices=constants.QUANTIZATIONS, help="weight and activation quantization")
    flags.option(tflite, "size", type=flags.fixed_size, default=constants.DEMO_NETWORK_SIZE,
                 metavar="N", help="the size the network runs at, a multiple of 8")
    flags.option(tflite, "input_type", default=INPUT_TYPES[0], choices=INPUT_TYPES,
                 help="L float32 in [0, 100] or sRGB gray uint8 at the network size (ab out); "
                 "or the photo itself, uint8 RGB or gray at its own size (colorized photo out)")
    flags.boolean(tflite, "logits", False, "add the 313 bin logits as an output")
    flags.add_temperature(tflite, "annealed-mean temperature baked into the model")
    flags.option(tflite, "representative_dir", default=None, metavar="DIR",
                 help="photos (folder, recursive, or glob) to calibrate int8 on, rank the "
                 "dynamic_int8 convs on, and check both against float32 (required for them)")
    flags.option(tflite, "num_calibration_images", type=flags.positive_int, default=None,
                 metavar="N", help="calibrate on at most this many photos (default: tflite_lib's "
                 "DEFAULT_NUM_CALIBRATION_IMAGES)")
    flags.option(tflite, "evaluate_dir", default=None, metavar="DIR",
                 help="photos to compare the model's colours with the float32 Keras network's "
                 "on, instead of the calibration photos (LiteRT interpreter)")
    flags.option(tflite, "num_float_convs", type=flags.non_negative_int, default=None,
                 metavar="N", help="dynamic_int8: keep the N convs most sensitive to "
                 "quantization in float (default: quantization.DEFAULT_NUM_FLOAT_CONVS)")
    flags.option(tflite, "calibration_percentile", type=flags.positive_float, default=None,
                 metavar="P", help="int8: each tensor's range is this percentile of its "
                 "calibration values (default: quantization.DEFAULT_PERCENTILE)")
    flags.boolean(tflite, "overwrite", False, "replace an existing FILE and FILE.json")
    flags.boolean(tflite, "accuracy_gate", True,
                  "refuse to write an int8 or dynamic_int8 model over the colour thresholds "
                  "(the check runs and prints either way)")
    flags.option(tflite, "max_mean_ab_error", type=flags.positive_float, default=None,
                 metavar="E", help="the gate's mean colour difference limit, Lab units "
                 f"(default: {_limits(0)})")
    flags.option(tflite, "max_p99_ab_error", type=flags.positive_float, default=None,
                 metavar="E", help=f"the gate's 99th-percentile limit, Lab units (default: "
                 f"{_limits(1)})")


def _limits(index: int) -> str:
    """The gate's default limits for the help, e.g. "1 dynamic_int8, 2 int8" (index 0: mean)."""
    return ", ".join(f"{limits[index]:g} {name}"
                     for name, limits in constants.TFLITE_ACCURACY_LIMITS.items())


def run_saved_model(args: argparse.Namespace) -> int:
    from keras_colorful.export import version_dir

    try:
        version_dir.check_version_path(args.output)
    except ValueError as error:
        raise flags.UsageError(str(error)) from error
    net = model_source.load_network(args)
    from keras_colorful.export import saved_model_lib

    try:
        path = saved_model_lib.export_saved_model(
            net,
            args.output,
            network_size=args.network_size,
            temperature=args.temperature,
            overwrite=args.overwrite,
            max_pixels=args.max_pixels,
            jpeg_quality=args.jpeg_quality,
        )
    except FileExistsError as error:
        raise flags.UsageError(str(error)) from error
    size = saved_model_lib.directory_bytes(path)
    weights = saved_model_lib.parameter_bytes(net)
    print(f"SavedModel written to {path}: {size / 1e6:.2f} MB "
          f"(float32 weights: {weights / 1e6:.2f} MB).")
    return flags.EXIT_OK


def _photos(folder: str | None, flag: str) -> list[str] | None:
    from keras_colorful.data import sources

    try:
        return sources.list_image_files(folder) if folder else None
    except ValueError as error:
        raise flags.UsageError(f"{flag}: {error}") from error


def _conversion_options(args: argparse.Namespace) -> dict:
    options = {"num_calibration_images": args.num_calibration_images,
               "num_float_convs": args.num_float_convs,
               "percentile": args.calibration_percentile}
    return {key: value for key, value in options.items() if value is not None}


def run_tflite(args: argparse.Namespace) -> int:
    output = pathlib.Path(args.output).expanduser()  # the paths files.write_* will write
    description_path = output.with_name(output.name + ".json")
    existing = [os.fspath(path) for path in (output, description_path) if path.exists()]
    if existing and not args.overwrite:  # checked before the (long) conversion
        raise flags.UsageError(f"{' and '.join(existing)} exist(s): pass --overwrite to replace "
                               "them, or choose another --output.")
    gated = args.quantization in GATED_QUANTIZATIONS
    if gated and not args.representative_dir:
        raise flags.UsageError(
            f"--quantization={args.quantization} needs calibration photos: pass "
            "--representative-dir=DIR (photos to calibrate on and to check the model against "
            "float32 on)."
        )
    representative = _photos(args.representative_dir, "--representative-dir")
    evaluation_photos = _photos(args.evaluate_dir, "--evaluate-dir")
    net = model_source.load_network(args)
    from keras_colorful.export import tflite_accuracy, tflite_lib, tflite_metadata

    options = _conversion_options(args)
    try:
        model = tflite_lib.convert(
            net,
            args.quantization,
            args.size,
            representative_images=representative,
            temperature=args.temperature,
            input_type=args.input_type,
            include_logits=args.logits,
            **options,
        )
    except ValueError as error:
        raise flags.UsageError(str(error)) from error
    info = tflite_metadata.read(model)
    print(f"{args.quantization} TFLite model ({args.input_type} input): "
          f"{len(model) / 1e6:.2f} MB.")
    if info.get("float_convs"):
        print(f"Convs kept in float: {', '.join(info['float_convs'])}.")
    check_photos = evaluation_photos or (representative[:options.get(
        "num_calibration_images", tflite_lib.DEFAULT_NUM_CALIBRATION_IMAGES)]
        if gated else None)
    if check_photos:
        errors = tflite_accuracy.measure(net, model, check_photos)
        print(errors.summary() + ".")
        failed = tflite_accuracy.violations(errors, args.quantization, args.max_mean_ab_error,
                                            args.max_p99_ab_error) if gated else []
        if gated:
            print(f"Accuracy gate: {'FAILED (' + '; '.join(failed) + ')' if failed else 'passed'}.")
        if failed and args.accuracy_gate:
            print(f"Refused to write {output}: the {args.quantization} model's colours are "
                  "too far from the float32 network's. Calibrate on other photos, keep more "
                  "convs in float (--num-float-convs), raise --max-mean-ab-error / "
                  "--max-p99-ab-error, or pass --no-accuracy-gate to write it anyway.",
                  file=sys.stderr)
            return flags.EXIT_FAILED
    files.write_bytes(output, model)  # a kill leaves no half-written model
    files.write_text(description_path, tflite_metadata.to_json(info))
    print(f"Written to {output} (description: {description_path}).")
    return flags.EXIT_OK
