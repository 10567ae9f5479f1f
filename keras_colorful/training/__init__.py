"""Training: config, optimiser, the training model (Lab conversion + loss on the device), the loop.

`train_lib.train_and_evaluate(config)` is the entry point; `scripts/train.py` is its command line.
"""
