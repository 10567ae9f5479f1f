"""Tests of the `keras-colorful` command line (keras_colorful.cli).

Output planning and flag errors run in-process; the colorize command runs as
`python -m keras_colorful.cli` in a subprocess, as a user would run it.
"""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from keras_colorful import cli, image_io, models
from keras_colorful.inference import full_resolution
from tests import image_factory

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def _touch(root: pathlib.Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def _run_cli(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "keras_colorful.cli", *args],
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
    _touch(tmp_path, "photo.jpg")
    with pytest.raises(SystemExit) as raised:
        cli.main(["colorize", str(tmp_path), "--output", str(tmp_path / "out"),
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


def test_export_tflite(model_path, tmp_path):
    from keras_colorful.export import tflite_lib

    output = tmp_path / "tflite" / "colorizer.tflite"
    argv = ["export", "tflite", "--model", str(model_path), "--output", str(output), "--size", "32"]
    assert cli.main(argv) == cli.EXIT_OK
    outputs = tflite_lib.run(output.read_bytes(), np.full((1, 32, 32, 1), 50.0, np.float32))
    assert outputs[tflite_lib.OUTPUT_AB].shape == (1, 8, 8, 2)


def test_export_tflite_int8_without_photos_exits_2(model_path, tmp_path, capsys):
    with pytest.raises(SystemExit) as raised:
        cli.main(["export", "tflite", "--model", str(model_path), "--quantization", "int8",
                  "--output", str(tmp_path / "m.tflite"), "--size", "32"])
    assert raised.value.code == cli.EXIT_USAGE
    assert "representative" in capsys.readouterr().err
