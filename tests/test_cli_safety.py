"""`keras-colorful colorize` never destroys an input and lets each bad file fail alone.

Each case recreates a fault found in an audit: outputs written over the originals, an --output
inside the input folder, a decompression bomb in a folder, a PostScript file named .jpg, TIFF
scans skipped without a word, a symbolic-link loop; and the threaded pipeline gives the bytes of
one photo after another. The command runs in this process (`cli.main`), on a tiny network.
"""

import io
import os
import pathlib
import subprocess

import pytest
from PIL import Image

import keras_colorful
from keras_colorful import cli, image_io
from tests import image_factory


@pytest.fixture(scope="module")
def model_path(tmp_path_factory, colourful_tiny_net):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    colourful_tiny_net(seed=0, logit_std=3.0).save(path)
    return path


def _colorize(model_path, *args):
    return cli.main(["colorize", *map(str, args), "--model", str(model_path), "--network-size",
                     "32", "--quiet"])


def _photos(folder: pathlib.Path, count: int, ext="png") -> list[pathlib.Path]:
    return image_factory.write_color_images(folder, count, size=(24, 32), ext=ext)


def test_outputs_never_replace_the_originals(model_path, tmp_path, capsys):
    folder = tmp_path / "photos"
    a, b_png = _photos(folder, 2)  # image_000.png, image_001.png
    b_jpg = folder / "image_001.jpg"
    Image.fromarray(image_factory.color_image(24, 32, seed=9)).save(b_jpg, quality=95)
    before = {path: path.read_bytes() for path in (a, b_png, b_jpg)}
    # `colorize a.png b.jpg --output <their folder>`: a.png's output is a.png itself, b.jpg's is
    # b.png, another original. Nothing is written; the command says why.
    with pytest.raises(SystemExit) as raised:
        _colorize(model_path, a, b_jpg, "--output", folder)
    assert raised.value.code == cli.EXIT_USAGE
    assert "exist already" in capsys.readouterr().err
    assert {path: path.read_bytes() for path in before} == before
    # With --overwrite the other file may go, the input never.
    assert _colorize(model_path, a, b_jpg, "--output", folder, "--overwrite") == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert f"{a}: its output" in err and "is an input photo" in err
    assert a.read_bytes() == before[a] and b_jpg.read_bytes() == before[b_jpg]
    assert b_png.read_bytes() != before[b_png]  # replaced, as asked


def test_an_output_folder_inside_an_input_folder_is_a_usage_error(model_path, tmp_path, capsys):
    folder = tmp_path / "photos"
    _photos(folder, 2)
    for output in (folder, folder / "colorized"):
        with pytest.raises(SystemExit) as raised:
            _colorize(model_path, folder, "--output", output)
        assert raised.value.code == cli.EXIT_USAGE
        assert "inside one" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["image_000.png", "image_001.png"]
    with pytest.raises(SystemExit):
        _colorize(model_path, str(folder / "*.png"), "--output", folder / "out")


def test_nothing_to_colorize_is_a_failure(model_path, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no photos")
    assert _colorize(model_path, empty, "--output", tmp_path / "out") == cli.EXIT_FAILED
    assert "no images to colorize" in capsys.readouterr().err


def test_skip_existing_finishes_an_interrupted_run(model_path, tmp_path, capsys):
    folder, output = tmp_path / "photos", tmp_path / "out"
    _photos(folder, 3)
    assert _colorize(model_path, folder, "--output", output) == cli.EXIT_OK
    (output / "image_001.png").unlink()
    kept = (output / "image_000.png").stat().st_mtime_ns
    assert _colorize(model_path, folder, "--output", output, "--skip-existing") == cli.EXIT_OK
    assert "Colorized 1 images" in capsys.readouterr().err
    assert (output / "image_001.png").exists()
    assert (output / "image_000.png").stat().st_mtime_ns == kept


def test_a_bomb_fails_alone_and_the_rest_is_written(model_path, tmp_path, capsys):
    folder = tmp_path / "photos"
    good = _photos(folder, 10)
    (folder / "image_004b.png").write_bytes(image_factory.png_header_only(13500, 13500))  # 182 megapixels, 150 bytes
    code = _colorize(model_path, folder, "--output", tmp_path / "out", "--batch-size", "4")
    assert code == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "image_004b.png" in err and "pixels" in err
    assert "Colorized 10 images" in err and "1 failed" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in good)
    (folder / "image_004b.png").write_bytes(image_factory.png_header_only(2000, 2000))  # below Pillow's limit
    code = _colorize(model_path, folder, "--output", tmp_path / "out2", "--max-pixels", "1000000")
    assert code == cli.EXIT_FAILED
    assert "above the cap of 1,000,000" in capsys.readouterr().err


def test_only_image_formats_are_opened_and_tiff_is_one(model_path, tmp_path, capsys, monkeypatch):
    started = []
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: started.append(a) or 1 / 0)
    folder = tmp_path / "photos"
    _photos(folder, 1)
    (folder / "ghost.jpg").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n")
    Image.fromarray(image_factory.color_image(20, 28, seed=3)).save(folder / "scan.tif")
    assert _colorize(model_path, folder, "--output", tmp_path / "out") == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "ghost.jpg" in err and "not one of JPEG" in err and started == []
    assert image_io.read_image(tmp_path / "out" / "scan.png").shape == (20, 28, 3)


def test_a_link_loop_in_the_input_folder_ends_and_lists_each_photo_once(
    model_path, tmp_path, capsys
):
    folder = tmp_path / "photos"
    _photos(folder / "a", 2)
    (folder / "a" / "loop").symlink_to(folder)
    (folder / "a" / "again").symlink_to(folder / "a")
    assert _colorize(model_path, folder, "--output", tmp_path / "out") == cli.EXIT_OK
    assert "Colorized 2 images" in capsys.readouterr().err


def test_the_pipeline_writes_the_bytes_of_one_photo_after_another(model_path, tmp_path):
    folder = tmp_path / "photos"
    photos = _photos(folder, 7, ext="jpg")
    assert _colorize(model_path, folder, "--output", tmp_path / "out", "--batch-size", "1",
                     "--format", "png") == cli.EXIT_OK
    colorizer = keras_colorful.load(model_path, network_size=32)
    for photo in photos:
        one = colorizer.colorize(image_io.read_image(photo))
        buffer = io.BytesIO()
        Image.fromarray(one).save(buffer, "PNG")
        assert (tmp_path / "out" / photo.with_suffix(".png").name).read_bytes() == buffer.getvalue()
    assert not [name for name in os.listdir(tmp_path / "out") if ".partial-" in name]
