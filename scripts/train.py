r"""Trains a colorization model: `python scripts/train.py --data_dir=photos/ --model_dir=runs/a`.

With no --data_dir it runs a short DEMO on generated photos (the README's main command). Kill it
at any time and start the same command again: it resumes from the last checkpoint. Watch it with
`tensorboard --logdir <model_dir>/logs`. All logic lives in `keras_colorful.training.train_lib`.
"""

from absl import app, flags, logging

FLAGS = flags.FLAGS
flags.DEFINE_string("data_dir", None, "Folder (recursive) or glob of training photos, or a glob "
                    "of TFRecord shards (scripts/make_tfrecords.py). "
                    "Unset: a short demo run on generated photos.")
flags.DEFINE_string("model_dir", "runs/demo", "Checkpoints, config.json, logs, model.keras.")
flags.DEFINE_string("preset", "small", "Model preset: eccv16, small or tiny.")
flags.DEFINE_integer("batch_size", 8, "Global batch size (split across replicas).")
flags.DEFINE_integer("train_steps", None, "Total steps. Default: 1000, or 60 for the demo run.")
flags.DEFINE_float("learning_rate", 3.16e-5, "Adam learning rate (release: 3.16e-5).")
flags.DEFINE_float("lr_decay_factor", 0.316, "Learning-rate factor every lr_decay_steps.")
flags.DEFINE_integer("lr_decay_steps", 215_000, "Steps between learning-rate decays.")
flags.DEFINE_float("weight_decay", 1e-3, "L2 added to the kernel gradients (release: 1e-3).")
flags.DEFINE_string("prior", None, "A (313,) prior .npy from scripts/compute_prior.py. "
                    "Unset: the ImageNet prior.")
flags.DEFINE_bool("mixed_precision", False, "float16 compute (GPU), float32 variables and loss.")
flags.DEFINE_integer("checkpoint_every", None, "Steps between checkpoints (default 100; "
                     "demo 20).")
flags.DEFINE_string("eval_dir", None, "Photos for the TensorBoard image summary.")
flags.DEFINE_integer("image_summary_every", 100, "Steps between image summaries (0: off).")
flags.DEFINE_integer("crop_size", 176, "Training crop size (multiple of 8).")
flags.DEFINE_integer("resize_shorter_to", 256, "Photos' shorter side before the random crop.")
flags.DEFINE_integer("seed", 0, "Random seed.")
flags.DEFINE_enum("strategy", "auto", ["auto", "mirrored", "multi_worker", "tpu", "one_device"],
                  "tf.distribute strategy. auto: TPU if --tpu is set, MultiWorkerMirrored when "
                  "TF_CONFIG names a cluster of several tasks, else Mirrored (docs/distributed.md).")
flags.DEFINE_string("tpu", None, "TPU address (grpc://..., a TPU name, or 'local' on a TPU VM).")
flags.DEFINE_string("data_service", None, "grpc://host:port of a tf.data service dispatcher "
                    "(scripts/data_service.py) to run the input pipeline on.")
flags.DEFINE_enum("data_service_mode", "distributed_epoch", ["distributed_epoch", "parallel_epochs"],
                  "tf.data service processing mode.")
flags.DEFINE_bool("jit_compile", False, "XLA-compile the training step.")
flags.DEFINE_float("demo_learning_rate", 1e-3, "Learning rate of the demo run only.")


def config_from_flags():
    from keras_colorful.training import config

    demo = FLAGS.data_dir is None
    return config.TrainingConfig(
        data_dir=FLAGS.data_dir,
        model_dir=FLAGS.model_dir,
        preset=FLAGS.preset,
        batch_size=FLAGS.batch_size,
        train_steps=FLAGS.train_steps or (60 if demo else 1000),
        learning_rate=FLAGS.demo_learning_rate if demo else FLAGS.learning_rate,
        lr_decay_factor=FLAGS.lr_decay_factor,
        lr_decay_steps=FLAGS.lr_decay_steps,
        weight_decay=FLAGS.weight_decay,
        prior=FLAGS.prior,
        mixed_precision=FLAGS.mixed_precision,
        checkpoint_every=FLAGS.checkpoint_every or (20 if demo else 100),
        eval_dir=FLAGS.eval_dir,
        image_summary_every=FLAGS.image_summary_every,
        crop_size=FLAGS.crop_size,
        resize_shorter_to=FLAGS.resize_shorter_to,
        seed=FLAGS.seed,
        strategy=FLAGS.strategy,
        jit_compile=FLAGS.jit_compile,
        demo=demo,
        tpu=FLAGS.tpu,
        data_service=FLAGS.data_service,
        data_service_mode=FLAGS.data_service_mode,
    )


def main(argv):
    del argv
    from keras_colorful.training import train_lib

    result = train_lib.train_and_evaluate(config_from_flags(), verbose=1)
    logging.info("Finished at step %d (resumed from %d); loss %s; model saved to %s",
                 result["step"], result["resumed_from"], result["loss"], result["model_path"])
    if result["is_chief"]:  # other workers of a multi-worker job saved to a temporary folder
        print(f"Saved {result['model_path']} at step {result['step']}.")


if __name__ == "__main__":
    app.run(main)
