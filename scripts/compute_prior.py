r"""Computes the ab prior of your photos: `python scripts/compute_prior.py --data_dir=photos/`.

Saves a float64 (313,) --output .npy (default prior.npy) and a JSON report beside it; train with
it by `scripts/train.py --prior=prior.npy`. The same as `keras-colorful compute-prior`
(`keras_colorful.cli.compute_prior`); all logic lives in `keras_colorful.prior_lib`.
"""

import sys

from keras_colorful import cli

if __name__ == "__main__":
    sys.exit(cli.main(["compute-prior", *sys.argv[1:]]))
