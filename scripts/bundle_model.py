r"""Makes a trained network the package's default model, with its best temperature folded in.

`python scripts/bundle_model.py --model=runs/a/model.keras --temperature=0.5 \
    --output=keras_colorful/assets/default.keras`

or, for a network trained in PyTorch with `scripts/train_torch.py`:

`python scripts/bundle_model.py --state_dict=run/state.npz --preset=small --temperature=0.5`

Choose --temperature with `scripts/evaluate.py --temperature=...` on photos the model was not
evaluated on; after folding, `keras_colorful.load()` decodes at the package default
(`constants.ANNEALED_MEAN_TEMPERATURE`, the paper's 0.38) exactly as the original network
decodes at --temperature (see `keras_colorful.models.calibration`).
"""

from absl import app, flags

from keras_colorful import constants

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "Trained network (.keras) from scripts/train.py.")
flags.DEFINE_string("state_dict", None, "Or: a PyTorch-layout state dict (.npz from "
                    "scripts/train_torch.py, or a .pth file).")
flags.DEFINE_string("preset", "small", "The preset of --state_dict's network.")
flags.DEFINE_float("temperature", constants.ANNEALED_MEAN_TEMPERATURE,
                  "The temperature to fold into the logits (default: the package's, no change).")
flags.DEFINE_string("output", "keras_colorful/assets/default.keras", "Where to write it.")
flags.mark_flags_as_mutual_exclusive(["model", "state_dict"], required=True)


def main(argv):
    del argv
    import numpy as np

    from keras_colorful import files, loading
    from keras_colorful.models import calibration
    from keras_colorful.weights import convert, pth

    if FLAGS.model:
        net = loading.load_network(FLAGS.model)
    else:
        if FLAGS.state_dict.endswith(".npz"):
            with np.load(FLAGS.state_dict) as arrays:
                state_dict = dict(arrays)
        else:
            state_dict = pth.load_state_dict(FLAGS.state_dict)
        net = convert.convert_state_dict(state_dict, preset=FLAGS.preset, logit_scale=1.0)
    calibration.fold_temperature(net, FLAGS.temperature)
    files.save_keras_model(net, FLAGS.output)  # a kill leaves the old file or the new one
    print(f"Wrote {FLAGS.output} (temperature {FLAGS.temperature} folded in).")


if __name__ == "__main__":
    app.run(main)
