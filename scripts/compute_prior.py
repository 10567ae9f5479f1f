r"""Computes the ab prior of your photos: `python scripts/compute_prior.py --data_dir=photos/`.

Streams every photo under --data_dir (recursive), counts its ab pixels over the 313 bins, smooths
the histogram (sigma 5, as the release) and saves a float64 (313,) --output .npy, plus a JSON
report beside it (images used and skipped, pixels, out-of-gamut pixels). Use it for training with
`scripts/train.py --prior=prior.npy`. All logic lives in `keras_colorful.prior_lib`.
"""

from absl import app, flags

from keras_colorful import constants

FLAGS = flags.FLAGS
flags.DEFINE_string("data_dir", None, "Folder of photos (searched recursively) or a glob.")
flags.DEFINE_string("output", "prior.npy", "Where to save the (313,) float64 prior.")
flags.DEFINE_integer("max_images", None, "Stop after this many images (default: all).")
flags.DEFINE_integer("resize", None, "Resize each image to resize x resize first (e.g. 256, "
                     "as the release's training images); default: original sizes.")
flags.DEFINE_float("sigma", constants.PRIOR_SMOOTHING_SIGMA,
                  "Gaussian smoothing in ab units (the release's by default; 0: none).")
flags.DEFINE_bool("progress", True, "Show a progress bar.")
flags.mark_flag_as_required("data_dir")


def main(argv):
    del argv
    import json

    from keras_colorful import prior_lib

    prior, report = prior_lib.compute_prior_from_folder(
        FLAGS.data_dir,
        max_images=FLAGS.max_images,
        resize=FLAGS.resize,
        progress=FLAGS.progress,
        sigma=FLAGS.sigma,
    )
    report_path = prior_lib.save_prior(prior, report, FLAGS.output)
    print(json.dumps(report, indent=2))
    print(f"Saved the prior to {FLAGS.output} and the report to {report_path}.")


if __name__ == "__main__":
    app.run(main)
