r"""Evaluates as in the paper: `python scripts/evaluate.py --data_dir=eval/ --model=model.keras`.

For every colour photo under --data_dir: L in, ab out at the photo's resolution; AuC of the ab
errors (thresholds 0..150, in %), class-rebalanced AuC (ImageNet prior, lambda 0), PSNR of the
RGB reconstruction, all pooled over every pixel of every photo, for the model and two baselines
(gray, ab = 0; the data set's mean ab). Prints a markdown table; --output writes the full
report (with the curves) as JSON, --contact_sheet a PNG of gray | prediction | truth rows.
--model is anything `keras_colorful.load` takes: a .keras file, a SavedModel, "eccv16" (the
authors' released model, with --weights_path for a local copy) or nothing for the bundled model.
All logic lives in `keras_colorful.evaluation`.
"""

from absl import app, flags

from keras_colorful import constants

FLAGS = flags.FLAGS
flags.DEFINE_string("data_dir", None, "Folder of colour photos (searched recursively) or a glob.")
flags.DEFINE_string("model", None, "A .keras file, a SavedModel, 'eccv16'; default: bundled.")
flags.DEFINE_string("weights_path", None, "Local released weights file for --model=eccv16.")
flags.DEFINE_integer("network_size", constants.DEMO_NETWORK_SIZE, "Network input size "
                     "(multiple of 8; 0: each photo's own size rounded to a multiple of 8).")
flags.DEFINE_float("temperature", constants.ANNEALED_MEAN_TEMPERATURE,
                   "Annealed-mean temperature (paper: 0.38).")
flags.DEFINE_integer("max_images", None, "Evaluate only the first photos (default: all).")
flags.DEFINE_string("output", None, "Write the JSON report here.")
flags.DEFINE_string("contact_sheet", None, "Write a gray | prediction | truth PNG here.")
flags.DEFINE_integer("num_sheet_images", 8, "Rows of the contact sheet.")
flags.DEFINE_bool("progress", True, "Show progress bars.")
flags.mark_flag_as_required("data_dir")


def main(argv):
    del argv
    import json
    import pathlib

    import keras_colorful
    from keras_colorful import evaluation
    from keras_colorful.inference import pipeline

    colorizer = keras_colorful.load(
        FLAGS.model,
        weights_path=FLAGS.weights_path,
        network_size=pipeline.parse_network_size(FLAGS.network_size),
    )
    report = evaluation.evaluate_folder(
        colorizer,
        FLAGS.data_dir,
        temperature=FLAGS.temperature,
        max_images=FLAGS.max_images,
        contact_sheet_path=FLAGS.contact_sheet,
        num_sheet_images=FLAGS.num_sheet_images,
        progress=FLAGS.progress,
    )
    print(evaluation.format_markdown(report))
    if FLAGS.output:
        output = pathlib.Path(FLAGS.output)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2))
        print(f"Wrote the report to {output}.")
    if report["contact_sheet"]:
        print(f"Wrote the contact sheet to {report['contact_sheet']}.")
    if report["num_skipped"]:
        print(f"Skipped {report['num_skipped']} unreadable files: {report['skipped_files']}")


if __name__ == "__main__":
    app.run(main)
