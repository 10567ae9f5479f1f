r"""Packs a photo folder into one small file of square WebP thumbnails, for `train_torch.py`.

`python scripts/pack_photos.py --data_dir=photos/ --size=144 --output=photos144.npz`

Each readable photo is centre-cropped to a square, resized to --size x --size (bicubic) and
WebP-encoded (--quality); unreadable files are skipped and counted. The .npz (no pickles) holds
`data` (all encodings, concatenated, uint8), `offsets` (int64, N + 1), `names` (relative paths)
and `size`, plus what the loss needs: the 313 `bin_centers` and the rebalancing
`class_weights` of the ImageNet prior (or --prior), so that `scripts/train_torch.py` needs no
TensorFlow. A pack of thousands of photos stays small enough to travel to a lent GPU machine,
where the trainer decodes it all into GPU memory (benchmarks/RESULTS.md has the sizes and times).
Photos named in --exclude_list (relative paths, one per line) are left out, e.g. a held-out
set for choosing the decode temperature.
"""

import concurrent.futures
import io
import os
import pathlib

import numpy as np
from absl import app, flags
from PIL import Image

from keras_colorful import files

FLAGS = flags.FLAGS
flags.DEFINE_string("data_dir", None, "Folder of photos (searched recursively).")
flags.DEFINE_integer("size", 144, "Side of the square thumbnails, in pixels.")
flags.DEFINE_integer("quality", 80, "WebP quality (0-100).")
flags.DEFINE_string("exclude_list", None, "Text file of relative paths to leave out.")
flags.DEFINE_string("prior", None, "(313,) .npy prior for the class weights (default: ImageNet).")
flags.DEFINE_string("output", None, "The .npz to write.")
flags.mark_flags_as_required(["data_dir", "output"])

_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


def square_thumbnail(path: str, size: int, quality: int) -> bytes:
    """The photo's centre square, resized to size x size, as WebP bytes."""
    with Image.open(path) as image:
        image = image.convert("RGB")
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
        image = image.resize((size, size), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=quality)
    return buffer.getvalue()


def loss_tables(prior_path: str | None) -> dict[str, np.ndarray]:
    """The bin centres and class weights of the package's loss, for a trainer without TF."""
    from keras_colorful import bins, priors

    prior = bins.default_prior() if prior_path is None else np.load(prior_path)
    return {"bin_centers": bins.ab_bin_centers(), "class_weights": priors.class_weights(prior)}


def _encode(args):
    path, size, quality = args
    try:
        return square_thumbnail(path, size, quality)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        return error


def main(argv):
    del argv
    root = pathlib.Path(FLAGS.data_dir)
    if not root.is_dir():
        raise app.UsageError(f"--data_dir {FLAGS.data_dir!r} is not a folder.")
    excluded = set()
    if FLAGS.exclude_list:
        excluded = set(pathlib.Path(FLAGS.exclude_list).read_text().split())
    names = sorted(
        str(path.relative_to(root)) for path in root.rglob("*")
        if path.suffix.lower() in _EXTENSIONS and path.is_file()
    )
    left_out = sum(name in excluded for name in names)
    names = [name for name in names if name not in excluded]
    encoded, kept, skipped = [], [], []
    with concurrent.futures.ProcessPoolExecutor(os.cpu_count()) as pool:
        jobs = [(str(root / name), FLAGS.size, FLAGS.quality) for name in names]
        for name, result in zip(names, pool.map(_encode, jobs, chunksize=64), strict=True):
            if isinstance(result, Exception):
                skipped.append(f"{name}: {result}")
            else:
                encoded.append(np.frombuffer(result, np.uint8))
                kept.append(name)
    offsets = np.concatenate([[0], np.cumsum([len(e) for e in encoded])]).astype(np.int64)
    with files.atomic_path(FLAGS.output) as partial, open(partial, "wb") as handle:
        np.savez(handle, data=np.concatenate(encoded), offsets=offsets,
                 names=np.array(kept), size=np.int64(FLAGS.size), **loss_tables(FLAGS.prior))
    print(f"Packed {len(kept)} photos ({offsets[-1] / 2**20:.1f} MiB) into {FLAGS.output}; "
          f"left out {left_out} listed, skipped "
          f"{len(skipped)} unreadable{': ' + '; '.join(skipped[:5]) if skipped else ''}.")


if __name__ == "__main__":
    app.run(main)
