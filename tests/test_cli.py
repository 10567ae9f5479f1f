"""Tests of the `keras-colorful` command line (keras_colorful.cli).

Output planning, flags and most commands run in-process through `cli.main`; the colorize
command runs as `python -m keras_colorful` in a subprocess, as a user would run it, and one
script runs next to its command to show that both are the same library call.
"""

import json
import os
import pathlib
import subprocess
import sys
import types

import numpy as np
import pytest
from PIL import Image

from keras_colorful import cli, image_io, models
from keras_colorful.cli import flags, startup
from keras_colorful.inference import full_resolution
from tests import image_factory
from tests.script_runner import run_script

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def _touch(root: pathlib.Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def _run_cli(*args: str, timeout: int = 240, module: str = "keras_colorful",
             env_overrides=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env_overrides or {})}
    env = {name: value for name, value in env.items() if value is not None}  # None: unset
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True, text=True, env=env, timeout=timeout, check=False,
    )


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    models.build_model("tiny").save(path)
    return path


# --- output planning -------------------------------------------------------------------------


def test_folders_keep_relative_paths_and_png_suffix(tmp_path):
    _touch(tmp_path / "in", "a/photo.jpg", "b/photo.jpg", "b/deep/x.JPEG", "notes.txt")
    jobs, errors = cli.plan_outputs([str(tmp_path / "in")], tmp_path / "out")
    assert errors == []
    outputs = {pathlib.Path(path).relative_to(tmp_path / "in"): out for path, out in jobs}
    assert outputs == {
        pathlib.Path("a/photo.jpg"): tmp_path / "out" / "a" / "photo.png",
        pathlib.Path("b/photo.jpg"): tmp_path / "out" / "b" / "photo.png",
        pathlib.Path("b/deep/x.JPEG"): tmp_path / "out" / "b" / "deep" / "x.png",
    }


def test_same_stems_get_numbered_and_duplicates_run_once(tmp_path):
    _touch(tmp_path, "one/photo.jpg", "two/photo.jpg", "one/photo.png")
    jobs, errors = cli.plan_outputs(
        [
            str(tmp_path / "one" / "photo.jpg"),
            str(tmp_path / "two" / "photo.jpg"),
            str(tmp_path / "one" / "photo.png"),
            str(tmp_path / "one"),  # photo.jpg and photo.png again: not twice
        ],
        tmp_path / "out",
    )
    assert errors == []
    assert [out.name for _, out in jobs] == ["photo.png", "photo_2.png", "photo_3.png"]
    assert len({out for _, out in jobs}) == len(jobs)


def test_globs_are_relative_to_their_root_and_missing_inputs_are_errors(tmp_path):
    _touch(tmp_path / "shots", "2020/a.png", "2021/b.png", "2021/c.jpg")
    pattern = str(tmp_path / "shots" / "**" / "*.png")
    jobs, errors = cli.plan_outputs([pattern, str(tmp_path / "nope.jpg")], tmp_path / "out")
    assert sorted(str(out.relative_to(tmp_path / "out")) for _, out in jobs) == [
        os.path.join("2020", "a.png"),
        os.path.join("2021", "b.png"),
    ]
    assert [source for source, _ in errors] == [str(tmp_path / "nope.jpg")]
    assert "does not exist" in errors[0][1]


def test_outputs_inside_an_input_folder_are_not_inputs(tmp_path):
    _touch(tmp_path, "photo.jpg", "colorized/photo.png")
    jobs, _ = cli.plan_outputs([str(tmp_path)], tmp_path / "colorized")
    assert [pathlib.Path(path).name for path, _ in jobs] == ["photo.jpg"]


# --- usage errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["colorize", "x.jpg"],  # no --output
        ["colorize", "--output", "out"],  # no input
        ["colorize", "x.jpg", "--output", "out", "--temperature", "0"],
        ["colorize", "x.jpg", "--output", "out", "--batch-size", "0"],
        ["colorize", "x.jpg", "--output", "out", "--network-size", "100"],
        ["paint", "x.jpg"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as raised:
        cli.main(argv)
    assert raised.value.code == cli.EXIT_USAGE
    assert "usage:" in capsys.readouterr().err


def test_unloadable_model_exits_2_naming_it(tmp_path, capsys):
    _touch(tmp_path, "in/photo.jpg")
    with pytest.raises(SystemExit) as raised:
        cli.main(["colorize", str(tmp_path / "in"), "--output", str(tmp_path / "out"),
                  "--model", str(tmp_path / "missing.keras")])
    assert raised.value.code == cli.EXIT_USAGE
    assert "missing.keras" in capsys.readouterr().err


# --- the colorize command, end to end --------------------------------------------------------


def test_colorize_folder_with_a_corrupt_file(model_path, tmp_path):
    photos = tmp_path / "photos"
    good = image_factory.write_color_images(photos, 2, size=(37, 53), ext="jpg")
    gray_path = photos / "sub" / "image_000.png"  # same stem as a file one folder up
    gray_path.parent.mkdir()
    Image.fromarray(image_factory.color_image(29, 31, 5).mean(-1).astype(np.uint8)).save(gray_path)
    corrupt = photos / "sub" / "corrupt.jpg"
    corrupt.write_bytes(image_factory.truncated_jpeg_bytes())
    output = tmp_path / "out"

    result = _run_cli(
        "colorize", str(photos), "--output", str(output), "--model", str(model_path),
        "--batch-size", "2", "--side-by-side",
    )
    assert result.returncode == cli.EXIT_FAILED, result.stderr
    error_lines = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(error_lines) == 1 and str(corrupt) in error_lines[0], result.stderr
    gap = full_resolution.GRID_GAP
    # The other files were written: colour inputs as gray | colorized | original, the gray one
    # as gray | colorized; the name collision is avoided by the relative path.
    for path in good:
        grid = image_io.read_image(output / path.with_suffix(".png").name)
        assert grid.shape == (37, 3 * 53 + 2 * gap, 3)
    gray_grid = image_io.read_image(output / "sub" / "image_000.png")
    assert gray_grid.shape == (29, 2 * 31 + gap, 3)
    assert not (output / "sub" / "corrupt.png").exists()
    assert sorted(p.name for p in output.rglob("*.png")) == [
        "image_000.png", "image_000.png", "image_001.png"
    ]


def test_colorize_files_and_globs_exit_0(model_path, tmp_path):
    first = image_factory.write_color_images(tmp_path / "a", 1, size=(20, 28), ext="png")[0]
    image_factory.write_color_images(tmp_path / "b", 2, size=(16, 40), ext="bmp", seed=4)
    output = tmp_path / "out"
    result = _run_cli(
        "colorize", str(first), str(tmp_path / "b" / "*.bmp"), "--output", str(output),
        "--model", str(model_path), "--temperature", "0.5", "--network-size", "64", "--quiet",
    )
    assert result.returncode == cli.EXIT_OK, result.stderr
    assert image_io.read_image(output / "image_000.png").shape == (20, 28, 3)
    # b/image_000.bmp has the first file's stem: numbered, not overwritten.
    written = sorted(p.name for p in output.iterdir())
    assert written == ["image_000.png", "image_000_2.png", "image_001.png"]
    assert image_io.read_image(output / "image_001.png").shape == (16, 40, 3)
    assert "Colorized 3 images" in result.stderr


def test_help_is_fast_and_names_the_commands():
    result = _run_cli("--help", timeout=60)
    assert result.returncode == 0
    assert "colorize" in result.stdout and "export" in result.stdout


# --- export ----------------------------------------------------------------------------------


def test_export_saved_model(model_path, tmp_path, capsys):
    output = tmp_path / "colorizer" / "1"
    argv = ["export", "saved_model", "--model", str(model_path), "--output", str(output),
            "--network-size", "64"]
    assert cli.main(argv) == cli.EXIT_OK
    assert (output / "saved_model.pb").is_file()
    with pytest.raises(SystemExit) as raised:  # not empty: refuses without --overwrite
        cli.main(argv)
    assert raised.value.code == cli.EXIT_USAGE
    assert "overwrite" in capsys.readouterr().err


def test_export_tflite(model_path, tmp_path, monkeypatch):
    from keras_colorful.export import tflite_lib

    output = tmp_path / "tflite" / "colorizer.tflite"
    argv = ["export", "tflite", "--model", str(model_path), "--output", str(output), "--size", "32"]
    assert cli.main(argv) == cli.EXIT_OK
    outputs = tflite_lib.run(output.read_bytes(), np.full((1, 32, 32, 1), 50.0, np.float32))
    assert outputs[tflite_lib.OUTPUT_AB].shape == (1, 8, 8, 2)
    # An existing model (the user's) is replaced only when asked, and refused before converting.
    output.write_bytes(b"the user's model")
    with pytest.raises(SystemExit) as raised:
        cli.main(argv)
    assert raised.value.code == cli.EXIT_USAGE
    assert output.read_bytes() == b"the user's model"
    assert cli.main([*argv, "--overwrite"]) == cli.EXIT_OK
    assert output.read_bytes()[4:8] == b"TFL3"
    # The check sees the file that would be written, "~" expanded as the writer expands it.
    monkeypatch.setenv("HOME", str(output.parent))
    with pytest.raises(SystemExit) as raised:
        cli.main([*argv[:4], "--output", "~/colorizer.tflite", "--size", "32"])
    assert raised.value.code == cli.EXIT_USAGE


def test_export_tflite_int8_without_photos_exits_2(model_path, tmp_path, capsys):
    with pytest.raises(SystemExit) as raised:
        cli.main(["export", "tflite", "--model", str(model_path), "--quantization", "int8",
                  "--output", str(tmp_path / "m.tflite"), "--size", "32"])
    assert raised.value.code == cli.EXIT_USAGE
    assert "representative" in capsys.readouterr().err


# --- one installed command for every job -----------------------------------------------------

COMMAND_LINES = [
    ["colorize"], ["demo"], ["train"], ["evaluate"], ["export", "saved_model"],
    ["export", "tflite"], ["compute-prior"], ["make-tfrecords"], ["data-service"],
    ["convert-weights"],
]


@pytest.mark.parametrize("command", COMMAND_LINES, ids=" ".join)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as raised:
        cli.main([*command, "--help"])
    assert raised.value.code == cli.EXIT_OK
    assert f"usage: keras-colorful {' '.join(command)}" in capsys.readouterr().out


def test_version(capsys):
    import keras_colorful

    with pytest.raises(SystemExit) as raised:
        cli.main(["--version"])
    assert raised.value.code == cli.EXIT_OK
    assert capsys.readouterr().out.strip() == f"keras-colorful {keras_colorful.__version__}"


def _parsed(argv):
    values = vars(cli.build_parser().parse_args(argv))
    return {name: value for name, value in values.items() if name not in ("run", "command_parser")}


@pytest.mark.parametrize(
    "spellings",
    [
        [["colorize", "x.jpg", "--output=o", "--batch-size", "2", "--side-by-side",
          "--weights-path", "w"],
         ["colorize", "x.jpg", "-o", "o", "--batch_size=2", "--side_by_side", "--weights_path=w"],
         ["colorize", "x.jpg", "--output", "o", "--batch_size", "2", "--side-by-side=true",
          "--weights_path", "w"]],
        [["evaluate", "--data-dir", "d", "--no-progress", "--contact-sheet", "s.png"],
         ["evaluate", "--data_dir=d", "--noprogress", "--contact_sheet=s.png"],
         ["evaluate", "--data_dir", "d", "--progress=false", "--contact-sheet=s.png"],
         ["evaluate", "--data-dir=d", "--progress=0", "--contact_sheet", "s.png"]],
        [["train", "--mixed-precision", "--no-jit-compile", "--train-steps", "5"],
         ["train", "--mixed_precision=true", "--nojit_compile", "--train_steps=5"],
         ["train", "--mixed_precision=T", "--jit_compile=false", "--train_steps", "5"]],
        [["export", "tflite", "--input-type", "gray_uint8", "--representative-dir", "p",
          "-o", "m.tflite"],
         ["export", "tflite", "--input_type=gray_uint8", "--representative_dir=p",
          "--output=m.tflite"]],
        [["convert-weights", "--no-check-hash"], ["convert-weights", "--nocheck_hash"],
         ["convert-weights", "--check_hash=false"]],
    ],
    ids=["colorize", "evaluate", "train", "export tflite", "convert-weights"],
)
def test_both_spellings_and_absl_booleans_mean_the_same(spellings):
    first, *others = (_parsed(argv) for argv in spellings)
    for other in others:
        assert other == first


@pytest.mark.parametrize(
    "command",
    [["colorize", "x.jpg", "-o", "o"], ["demo"], ["evaluate", "--data_dir=d"],
     ["export", "saved_model", "-o", "o"], ["export", "tflite", "-o", "o"]],
    ids=lambda command: " ".join(command[:2]),
)
def test_same_defaults_everywhere_and_native_or_0_for_each_photos_own_size(command):
    from keras_colorful import constants

    parsed = _parsed(command)
    assert parsed["model"] is None and parsed["weights_path"] is None  # the bundled model
    assert parsed["temperature"] == constants.ANNEALED_MEAN_TEMPERATURE
    size = "size" if command[:2] == ["export", "tflite"] else "network_size"
    assert parsed[size] == constants.DEMO_NETWORK_SIZE
    if size == "network_size":
        for native in (["--network-size", "native"], ["--network_size=0"], ["--network_size=native"]):
            assert _parsed(command + native)["network_size"] is None


@pytest.mark.parametrize(
    "argv, message",
    [
        (["evaluate", "--data_dir=d", "--progress=maybe"], "expected true or false"),
        (["export", "tflite", "-o", "m", "--size", "native"], "fixed input size"),
        (["export", "saved_model", "-o", "o", "--model", "m.keras", "--preset", "tiny"],
         "not allowed with"),
        (["colorize", "x.jpg", "-o", "o", "--quality", "101"], "from 1 to 100"),
        (["colorize", "x.jpg", "-o", "o", "--format", "gif"], "invalid choice"),
        (["colorize", "x.jpg", "-o", "o", "--png-compression", "10"], "invalid choice"),
        (["colorize", "x.jpg", "-o", "o", "--format", "jpg", "--png-compression", "1"],
         "--png-compression applies to --format png only"),
    ],
)
def test_flag_errors_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as raised:
        cli.main(argv)
    assert raised.value.code == cli.EXIT_USAGE
    assert message in capsys.readouterr().err


def test_verbose_is_read_before_and_after_the_command():
    assert flags.wants_verbose(["--verbose", "demo"]) and flags.wants_verbose(["demo", "--verbose"])
    assert not flags.wants_verbose(["demo", "--noverbose"]) and not flags.wants_verbose(["demo"])
    assert _parsed(["demo", "--verbose=true"])["verbose"] is True
    assert _parsed(["--verbose", "demo"])["verbose"] is True


def test_descriptor_2_is_silenced_only_around_the_import(capfd):
    os.write(2, b"before ")
    with startup._descriptor_2_to_devnull():
        os.write(2, b"TensorFlow start-up chatter ")
    os.write(2, b"after")
    assert capfd.readouterr().err == "before after"


# --- each command is the library call of its script ------------------------------------------


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    image_factory.write_color_images(folder, 3, size=(24, 40))
    return folder


def test_evaluate_command_equals_its_script(photo_folder, model_path, tmp_path, capsys):
    script_report, command_report = tmp_path / "script.json", tmp_path / "command.json"
    common = [f"--data_dir={photo_folder}", f"--model={model_path}", "--network_size=16",
              "--noprogress"]
    result = run_script("scripts/evaluate.py", *common, f"--output={script_report}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert cli.main(["evaluate", *common, "--output", str(command_report)]) == cli.EXIT_OK
    captured = capsys.readouterr()
    assert f"Loading model: {model_path} ..." in captured.err
    assert captured.out.splitlines()[:7] == result.stdout.splitlines()[:7]  # the table
    assert json.loads(command_report.read_text()) == json.loads(script_report.read_text())


def test_demo_loads_the_bundled_model_by_default(tmp_path, capsys):
    argv = ["demo", "--output", str(tmp_path / "demo"), "--network-size", "16"]
    assert cli.main(argv) == cli.EXIT_OK
    captured = capsys.readouterr()
    assert "Loading model: the bundled model ..." in captured.err
    assert f"wrote {tmp_path / 'demo' / 'grid.png'}" in captured.out
    assert len(list((tmp_path / "demo").glob("*.png"))) == 4


def test_train_takes_the_config_fields_as_flags(photo_folder, tmp_path, capsys):
    model_dir = tmp_path / "run"
    argv = ["train", f"--data_dir={photo_folder}", f"--model_dir={model_dir}", "--preset=tiny",
            "--batch-size", "2", "--train_steps=2", "--crop_size=16", "--resize_shorter_to=24",
            "--image_summary_every=0", "--nomixed_precision"]
    assert cli.main(argv) == cli.EXIT_OK
    config = json.loads((model_dir / "config.json").read_text())
    assert (config["train_steps"], config["crop_size"], config["demo"]) == (2, 16, False)
    assert config["checkpoint_every"] == 100  # the config's default, not the demo run's
    assert f"Saved {model_dir / 'model.keras'} at step 2." in capsys.readouterr().out


def test_compute_prior_and_make_tfrecords(photo_folder, tmp_path, capsys):
    from keras_colorful import prior_lib
    from keras_colorful.data import tfrecords

    prior_path = tmp_path / "prior.npy"
    argv = ["compute-prior", "--data-dir", str(photo_folder), "-o", str(prior_path),
            "--noprogress"]
    assert cli.main(argv) == cli.EXIT_OK
    expected, _ = prior_lib.compute_prior_from_folder(photo_folder, progress=False)
    np.testing.assert_array_equal(np.load(prior_path), expected)

    prefix = tmp_path / "shards" / "train"
    argv = ["make-tfrecords", f"--data_dir={photo_folder}", f"--output={prefix}", "--shards=2",
            "--no-progress"]
    assert cli.main(argv) == cli.EXIT_OK
    assert tfrecords.read_manifest(tfrecords.manifest_path(str(prefix))).num_images == 3
    assert "Wrote 3 images" in capsys.readouterr().out


class _Server:
    def __init__(self, target):
        self.target = target


def _interrupt(seconds):
    raise KeyboardInterrupt


def test_data_service_starts_the_library_servers_until_ctrl_c(monkeypatch, capsys):
    from keras_colorful.data import service

    calls = []
    monkeypatch.setattr(service, "start_dispatcher", lambda **kwargs: (
        calls.append(("dispatcher", kwargs)), _Server("grpc://localhost:7000"))[1])
    monkeypatch.setattr(service, "start_worker", lambda address, **kwargs: (
        calls.append(("worker", address, kwargs)), _Server("worker"))[1])
    monkeypatch.setattr(cli.data_service, "time", types.SimpleNamespace(sleep=_interrupt))
    argv = ["data-service", "--role=both", "--port=7000", "--work_dir=/j"]
    assert cli.main(argv) == cli.EXIT_INTERRUPTED
    assert calls == [
        ("dispatcher", {"port": 7000, "work_dir": "/j", "fault_tolerant": True}),
        ("worker", "grpc://localhost:7000", {"port": 7001, "worker_address": None}),
    ]
    with pytest.raises(SystemExit) as raised:
        cli.main(["data-service", "--role", "worker"])
    assert raised.value.code == cli.EXIT_USAGE
    assert "--dispatcher is required" in capsys.readouterr().err


def test_convert_weights_calls_the_library(monkeypatch, tmp_path, capsys):
    from keras_colorful.weights import pth, released

    calls = []
    monkeypatch.setattr(released, "released_weights_path", lambda name, path, check_hash: (
        calls.append((name, path, check_hash)), tmp_path / "release.pth")[1])
    monkeypatch.setattr(pth, "convert_pth", lambda path, output: (
        calls.append((path, output)), models.build_model("tiny"))[1])
    assert cli.main(["convert-weights", "--pth=r.pth", "--output", "x.keras",
                     "--nocheck_hash"]) == cli.EXIT_OK
    assert calls == [("eccv16", "r.pth", False), (tmp_path / "release.pth", "x.keras")]
    assert "Converted" in capsys.readouterr().out


def test_library_errors_are_one_line_and_exit_1(tmp_path, capsys):
    argv = ["compute-prior", f"--data_dir={tmp_path / 'none'}", "--noprogress"]
    assert cli.main(argv) == cli.EXIT_FAILED
    error = capsys.readouterr().err
    assert "keras-colorful: error:" in error and "--verbose" in error
    with pytest.raises(ValueError):
        cli.main([*argv, "--verbose"])


# --- colorize: formats, quality, and a quiet start ----------------------------------------------


def test_colorize_formats_and_quality(model_path, tmp_path):
    photo = image_factory.write_color_images(tmp_path / "in", 1, size=(48, 64), ext="png")[0]
    sizes = {}
    for output_format, quality in (("jpg", 95), ("jpg", 5), ("webp", 50)):
        output = tmp_path / f"{output_format}{quality}"
        argv = ["colorize", str(photo), "-o", str(output), "--model", str(model_path),
                "--network-size=16", "--format", output_format, "--quality", str(quality), "-q"]
        assert cli.main(argv) == cli.EXIT_OK
        written = output / f"image_000.{output_format}"
        with Image.open(written) as image:
            assert image.format == {"jpg": "JPEG", "webp": "WEBP"}[output_format]
            assert image.size == (64, 48)
        sizes[output_format, quality] = written.stat().st_size
    assert sizes["jpg", 5] < sizes["jpg", 95]
    pixels = {}
    for level in (0, 9):
        output = tmp_path / f"png{level}"
        argv = ["colorize", str(photo), "-o", str(output), "--model", str(model_path),
                "--network-size=16", "--png-compression", str(level), "-q"]
        assert cli.main(argv) == cli.EXIT_OK
        written = output / "image_000.png"
        pixels[level] = np.asarray(Image.open(written))
        sizes["png", level] = written.stat().st_size
    np.testing.assert_array_equal(pixels[0], pixels[9])  # lossless at every level
    assert sizes["png", 0] > 48 * 64 * 3 > sizes["png", 9]  # level 0 stores the pixels as they are


def test_python_m_keras_colorful_starts_quietly(model_path, tmp_path):
    """Without --verbose, stderr holds our lines only: no TensorFlow start-up messages."""
    photo = image_factory.write_color_images(tmp_path / "in", 1, size=(16, 24), ext="png")[0]
    output = tmp_path / "out"
    result = _run_cli("colorize", str(photo), "-o", str(output), "--model", str(model_path),
                      "--network_size=16", env_overrides={"TF_CPP_MIN_LOG_LEVEL": None})
    assert result.returncode == cli.EXIT_OK, result.stderr
    assert result.stderr.splitlines() == [
        f"Loading model: {model_path} ...", f"Colorized 1 images into {output}."
    ]
    version = _run_cli("--version", module="keras_colorful.cli", timeout=60)
    assert version.stdout.startswith("keras-colorful ")
