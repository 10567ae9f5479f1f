"""Tests of file listing, decoding, scanning and the tf.data pipeline (keras_colorful.data)."""

from __future__ import annotations

import glob
import itertools
import os
import pathlib
import time

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_colorful.data import decode, pipeline, sources, transforms
from tests import image_factory

CROP = 32


def _epoch(batches: tf.data.Dataset) -> np.ndarray:
    return np.concatenate(list(batches.as_numpy_iterator()))


def _pil_center_crop(image: np.ndarray, size: int) -> np.ndarray:
    """Reference: the centre square of the image, resized with Pillow's (antialiased) bilinear."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = Image.fromarray(image[top : top + side, left : left + side])
    return np.asarray(square.resize((size, size), Image.BILINEAR))


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory) -> dict:
    """A folder tree with colourful JPEGs, odd-but-valid images and broken files."""
    root = tmp_path_factory.mktemp("mixed")
    good = image_factory.write_color_images(root / "photos", 3, size=(48, 64))
    odd = image_factory.write_odd_images(root / "odd")
    bad = image_factory.write_bad_files(root / "bad")
    (root / "odd" / "notes.txt").write_text("not an image")
    good_files = sorted(str(path) for path in good + [path for path, _ in odd.values()])
    return {"root": root, "good": good_files, "odd": odd, "bad": bad}


# --- listing ---------------------------------------------------------------------------------


def test_list_image_files_is_recursive_sorted_and_case_insensitive(tmp_path):
    for name in ["b.JPG", "sub/a.png", "sub/deeper/c.jpeg", "d.Gif", "e.bmp", "f.webp"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "scan.tiff").write_bytes(b"x")

    files = sources.list_image_files(tmp_path)

    names = [pathlib.Path(path).relative_to(tmp_path).as_posix() for path in files]
    assert names == sorted(["b.JPG", "sub/a.png", "sub/deeper/c.jpeg", "d.Gif", "e.bmp", "f.webp"])
    assert files == sorted(files)


def test_list_image_files_accepts_globs_files_and_lists(mixed_folder, tmp_path):
    root = mixed_folder["root"]
    pngs = sources.list_image_files(str(root / "**" / "*.png"))
    assert pngs and all(path.endswith(".png") for path in pngs)
    assert set(pngs) == {p for p in mixed_folder["good"] if p.endswith(".png")}

    bracketed = tmp_path / "photo [1].png"
    bracketed.write_bytes(b"")
    assert sources.list_image_files(str(bracketed)) == [str(bracketed)]

    single = str(root / "photos" / "image_000.jpg")
    combined = sources.list_image_files([root / "photos", single, str(root / "odd" / "*.gif")])
    assert combined == sorted(
        [str(p) for p in sorted((root / "photos").iterdir())] + [str(root / "odd" / "palette.gif")]
    )


def test_links_are_followed_but_a_loop_lists_each_photo_once(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "photo.jpg").write_bytes(b"x")
    (tmp_path / "a" / "b" / "up").symlink_to(tmp_path / "a")  # a loop
    (tmp_path / "a" / "b" / "again").symlink_to(tmp_path / "a")  # a second one: 2^40 paths
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "linked.jpg").symlink_to(tmp_path / "a" / "photo.jpg")
    (tmp_path / "linked_folder").symlink_to(tmp_path / "other")
    (tmp_path / "other" / "own.png").write_bytes(b"x")
    start = time.perf_counter()
    files = sources.list_image_files(tmp_path)
    assert time.perf_counter() - start < 10
    names = [pathlib.Path(path).relative_to(tmp_path).as_posix() for path in files]
    # The photo once (by its first name), the linked folder's own photo once.
    assert names == ["a/photo.jpg", "linked_folder/own.png"]
    assert sources.list_image_files(str(tmp_path / "**" / "*.jpg")) == [
        str(tmp_path / "a" / "photo.jpg")]


def test_glob_patterns_match_as_pythons_glob(tmp_path, monkeypatch):
    for name in ["1.jpg", "c/2.jpg", "c/d/3.png", "c/d/x[1].jpg", ".hidden.jpg", "c/.h/4.jpg"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    for pattern in [f"{tmp_path}/*.jpg", f"{tmp_path}/**/*.jpg", f"{tmp_path}/c/*/*",
                    f"{tmp_path}/c/?/*.png", "**/*.jpg", "c/*.jpg", "*.jpg", f"{tmp_path}/**"]:
        expected = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p)
                          and p.lower().endswith(sources.IMAGE_EXTENSIONS))
        assert sources.list_image_files(pattern) == expected, pattern


def test_list_image_files_errors_name_the_source(tmp_path):
    missing = tmp_path / "no_such_folder"
    with pytest.raises(ValueError, match="no_such_folder"):
        sources.list_image_files(missing)
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    with pytest.raises(ValueError, match="empty_folder"):
        sources.list_image_files(empty)
    (empty / "readme.txt").write_text("no images here")
    with pytest.raises(ValueError, match="empty_folder"):
        sources.list_image_files(empty)
    with pytest.raises(ValueError, match=r"nothing_\*\.jpg"):
        sources.list_image_files(str(tmp_path / "nothing_*.jpg"))
    with pytest.raises(ValueError, match="empty"):
        sources.list_image_files([])
    with pytest.raises(ValueError, match="empty_folder"):
        pipeline.make_dataset(empty, batch_size=2, crop_size=CROP)


# --- decoding and scanning -------------------------------------------------------------------


def test_decode_rgb_handles_gray_alpha_16bit_gif_bmp_webp_tiny(mixed_folder):
    odd = mixed_folder["odd"]
    paths = [str(path) for path, _ in odd.values()]
    # Decode both eagerly and inside tf.data, which can differ.
    in_tf_data = list(
        tf.data.Dataset.from_tensor_slices(paths)
        .map(lambda path: decode.decode_rgb(tf.io.read_file(path)))
        .as_numpy_iterator()
    )
    for (kind, (path, expected)), from_tf_data in zip(odd.items(), in_tf_data, strict=True):
        eager = decode.decode_rgb(tf.io.read_file(str(path))).numpy()
        np.testing.assert_array_equal(eager, from_tf_data)
        assert eager.dtype == np.float32 and eager.shape == expected.shape, kind
        error = np.abs(np.round(eager) - expected)
        if kind == "jpeg_upper":  # lossy: compare loosely
            assert error.mean() < 3.0, kind
        else:
            # Exact, including the 16-bit PNG: round(value / 257), not value >> 8.
            assert error.max() == 0, (kind, error.max())
    deep_path, deep_expected = odd["png16"]
    assert np.round(
        decode.decode_rgb(tf.io.read_file(str(deep_path))).numpy()[3, 5]
    ).tolist() == (deep_expected[3, 5].tolist())


def test_scan_images_skips_and_names_bad_files(mixed_folder):
    files = sources.list_image_files(mixed_folder["root"])

    report = decode.scan_images(files)

    assert list(report.files) == mixed_folder["good"]
    bad_paths = sorted(str(path) for path in mixed_folder["bad"].values())
    assert sorted(path for path, _ in report.skipped) == bad_paths
    assert report.num_skipped == 3 and report.num_files == len(mixed_folder["good"]) + 3
    reasons = dict(report.skipped)
    assert "empty" in reasons[str(mixed_folder["bad"]["zero_byte"])].lower()
    assert "format" in reasons[str(mixed_folder["bad"]["text"])].lower()
    assert "jpeg" in reasons[str(mixed_folder["bad"]["truncated"])].lower()
    summary = report.summary()
    assert "3 skipped" in summary and all(path in summary for path in bad_paths)


def test_resolve_source_keeps_the_decodable_files_and_reports_the_rest(mixed_folder):
    source = sources.resolve_source(mixed_folder["root"])

    assert list(source.files) == mixed_folder["good"] and not source.is_tfrecord
    report = source.report()
    assert report["num_files"] == len(mixed_folder["good"]) + 3 and report["num_skipped"] == 3
    assert sorted(report["skipped"]) == sorted(str(p) for p in mixed_folder["bad"].values())
    assert sources.resolve_source(source) is source
    unscanned = sources.resolve_source(mixed_folder["root"], scan=False)
    assert len(unscanned.files) == len(mixed_folder["good"]) + 3
    assert unscanned.report()["num_skipped"] is None
    with pytest.raises(ValueError, match="bad.*could be decoded"):
        sources.resolve_source(mixed_folder["root"] / "bad")


# --- the pipeline ----------------------------------------------------------------------------


def test_bad_data_epoch_yields_exactly_the_good_images(mixed_folder):
    good = mixed_folder["good"]
    expected = np.stack(
        [
            transforms.center_crop(decode.decode_rgb(tf.io.read_file(path)), CROP).numpy()
            for path in good
        ]
    )

    evaluation = pipeline.make_dataset(
        mixed_folder["root"], batch_size=4, crop_size=CROP, training=False
    )
    images = _epoch(evaluation)

    assert images.dtype == np.uint8 and images.shape == (len(good), CROP, CROP, 3)
    np.testing.assert_array_equal(images, expected)

    # Training: every good image once per epoch, whether the scan ran or not (ignore_errors).
    for scan in (True, False):
        training = pipeline.make_dataset(
            mixed_folder["root"], batch_size=1, crop_size=CROP, seed=0, repeat=False, scan=scan
        )
        assert len(_epoch(training)) == len(good)


def test_a_resolved_source_gives_the_same_batches_in_the_dtype_asked_for(mixed_folder):
    source = sources.resolve_source(mixed_folder["root"])
    as_int32 = pipeline.make_dataset(
        source, batch_size=4, crop_size=CROP, training=False, output_dtype="int32"
    )
    plain = pipeline.make_dataset(mixed_folder["root"], batch_size=4, crop_size=CROP,
                                  training=False)

    assert as_int32.element_spec.dtype == tf.int32
    np.testing.assert_array_equal(_epoch(as_int32), _epoch(plain))


def test_folder_of_only_broken_files_raises(mixed_folder):
    with pytest.raises(ValueError, match="could be decoded"):
        pipeline.make_dataset(mixed_folder["root"] / "bad", batch_size=1, crop_size=CROP)


def test_training_batches_are_uint8_176_crops_with_static_shape(mixed_folder):
    batches = pipeline.make_dataset(mixed_folder["root"] / "photos", batch_size=2, seed=1)

    assert batches.element_spec.shape.as_list() == [2, 176, 176, 3]
    assert batches.element_spec.dtype == tf.uint8
    batch = next(iter(batches))
    assert batch.shape == (2, 176, 176, 3) and batch.dtype == tf.uint8
    assert int(tf.reduce_max(batch)) > 100  # the crops hold the picture, not padding


def test_training_is_random_but_reproducible_with_a_seed(mixed_folder):
    def first_batches(seed):
        batches = pipeline.make_dataset(
            mixed_folder["root"], batch_size=3, crop_size=CROP, seed=seed
        )
        return np.stack(list(itertools.islice(batches.as_numpy_iterator(), 4)))

    same_a, same_b, other = first_batches(7), first_batches(7), first_batches(8)

    np.testing.assert_array_equal(same_a, same_b)
    assert not np.array_equal(same_a, other)


def test_training_crop_is_a_window_of_the_image_mirrored_half_the_time(tmp_path):
    # With resize_shorter_to == crop size and an image crop_size high, the crop is a window of the
    # original at scale 1: the output must equal some window, or its mirror image.
    image = image_factory.color_image(CROP, 3 * CROP, seed=5)
    windows = np.stack([image[:, left : left + CROP] for left in range(2 * CROP + 1)])
    tensor = tf.constant(image, tf.float32)
    flips, lefts = [], set()
    for seed in range(40):
        crop = transforms.random_crop_and_flip(tensor, CROP, [seed, 3], resize_shorter_to=CROP)
        crop = crop.numpy()
        plain = np.flatnonzero((windows == crop).all(axis=(1, 2, 3)))
        mirrored = np.flatnonzero((windows == crop[:, ::-1]).all(axis=(1, 2, 3)))
        assert len(plain) + len(mirrored) >= 1, f"seed {seed}: not a window of the image"
        flips.append(len(plain) == 0)
        lefts.update(plain.tolist() + mirrored.tolist())
    assert 8 <= sum(flips) <= 32  # both orientations occur
    assert len(lefts) >= 10  # the window moves


def test_training_crop_scale_follows_resize_shorter_to():
    # Pixel values encode coordinates (R = 2x, G = 2y) on a 128x128 image. Resizing the shorter
    # side to 64 and cutting 32 means a 64-pixel source window shrunk by 2: neighbouring output
    # pixels differ by 4 in R (along x, sign given by the flip) and in G (along y).
    y, x = np.mgrid[0:128, 0:128]
    image = np.stack([2 * x, 2 * y, np.zeros_like(x)], axis=-1).astype(np.float32)
    for seed in range(5):
        crop = transforms.random_crop_and_flip(
            tf.constant(image), CROP, [seed, 0], resize_shorter_to=64
        ).numpy()
        crop = crop.astype(np.float64)
        step_x = np.diff(crop[..., 0], axis=1)[1:-1, 1:-1]
        step_y = np.diff(crop[..., 1], axis=0)[1:-1, 1:-1]
        np.testing.assert_allclose(np.abs(step_x), 4.0, atol=1.0)
        np.testing.assert_allclose(step_y, 4.0, atol=1.0)


def test_each_training_epoch_is_a_new_permutation_of_all_files(tmp_path):
    # Square images of the crop size: the crop is the whole image, so each output is identifiable.
    paths = image_factory.write_color_images(tmp_path, 6, size=CROP, ext="png")
    originals = np.stack([np.asarray(Image.open(path)) for path in paths])
    batches = pipeline.make_dataset(
        tmp_path, batch_size=6, crop_size=CROP, resize_shorter_to=CROP, seed=3
    )
    orders = []
    for batch in itertools.islice(batches.as_numpy_iterator(), 3):
        order = []
        for crop in batch:
            match = [
                k
                for k, original in enumerate(originals)
                if np.array_equal(crop, original) or np.array_equal(crop[:, ::-1], original)
            ]
            assert len(match) == 1
            order.append(match[0])
        assert sorted(order) == list(range(6))
        orders.append(order)
    assert len({tuple(order) for order in orders}) > 1


@pytest.mark.parametrize("height, width", [(48, 80), (80, 48), (100, 150), (20, 30), (5, 5)])
def test_evaluation_is_a_center_crop_matching_pillow(tmp_path, height, width):
    image = image_factory.color_image(height, width, seed=height + width)
    Image.fromarray(image).save(tmp_path / "image.png")

    crops = _epoch(pipeline.make_dataset(tmp_path, batch_size=1, crop_size=CROP, training=False))

    # Pillow's bilinear resize of the centre square; rounding may differ by one level.
    difference = np.abs(crops[0].astype(int) - _pil_center_crop(image, CROP).astype(int))
    assert difference.max() <= 1


def test_make_eval_batch_takes_the_first_decodable_images(tmp_path):
    (tmp_path / "a_broken.jpg").write_bytes(b"")
    paths = image_factory.write_color_images(tmp_path, 3, size=(40, 56), ext="png")
    expected = np.stack([_pil_center_crop(np.asarray(Image.open(p)), CROP) for p in paths])

    batch = pipeline.make_eval_batch(tmp_path, num_images=2, size=CROP)

    assert batch.dtype == np.uint8 and batch.shape == (2, CROP, CROP, 3)
    assert np.abs(batch.astype(int) - expected[:2]).max() <= 1
    np.testing.assert_array_equal(pipeline.make_eval_batch(tmp_path, 2, CROP), batch)
    assert pipeline.make_eval_batch(tmp_path, num_images=10, size=CROP).shape[0] == 3
    with pytest.raises(ValueError, match="decodable"):
        pipeline.make_eval_batch(tmp_path / "a_broken.jpg", num_images=1, size=CROP)


def test_bad_arguments_raise(mixed_folder):
    photos = mixed_folder["root"] / "photos"
    with pytest.raises(ValueError, match="batch_size"):
        pipeline.make_dataset(photos, batch_size=0)
    with pytest.raises(ValueError, match="resize_shorter_to"):
        pipeline.make_dataset(photos, batch_size=1, crop_size=64, resize_shorter_to=32)


def test_iterator_checkpoint_resumes_with_the_same_batches(mixed_folder, tmp_path):
    # Exact resume of training relies on saving the iterator in the checkpoint.
    batches = pipeline.make_dataset(mixed_folder["root"], batch_size=3, crop_size=CROP, seed=2)
    iterator = iter(batches)
    for _ in range(4):
        next(iterator)
    path = tf.train.Checkpoint(iterator=iterator).save(str(tmp_path / "ckpt"))
    expected = [next(iterator).numpy() for _ in range(4)]

    resumed = iter(batches)
    tf.train.Checkpoint(iterator=resumed).restore(path).assert_consumed()

    for batch in expected:
        np.testing.assert_array_equal(next(resumed).numpy(), batch)
