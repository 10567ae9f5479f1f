r"""Makes a trained network the package's default model, with its best temperature folded in.

`python scripts/bundle_model.py --model=runs/a/model.keras --temperature=0.5 \
    --output=keras_colorful/assets/default.keras`

Choose --temperature with `scripts/evaluate.py --temperature=...` on photos the model was not
evaluated on; after folding, `keras_colorful.load()` decodes at the package default (0.38) exactly
as the original network decodes at --temperature (see `keras_colorful.models.calibration`).
"""

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "Trained network (.keras) from scripts/train.py.")
flags.DEFINE_float("temperature", 0.38, "The temperature to fold into the logits.")
flags.DEFINE_string("output", "keras_colorful/assets/default.keras", "Where to write it.")
flags.mark_flag_as_required("model")


def main(argv):
    del argv
    from keras_colorful.inference import loading
    from keras_colorful.models import calibration

    net = loading.load_network(FLAGS.model)
    calibration.fold_temperature(net, FLAGS.temperature)
    net.save(FLAGS.output)
    print(f"Wrote {FLAGS.output} (temperature {FLAGS.temperature} folded in).")


if __name__ == "__main__":
    app.run(main)
