"""Training: config, optimiser, strategies, the training model (Lab conversion + loss on the
device), the synthetic photos of the demo run, and the loop.

`train_lib.train_and_evaluate(config)` is the entry point; `scripts/train.py` is its command line;
the batches come from `keras_colorful.data.pipeline.make_dataset`.
"""
