r"""Evaluates as in the paper: `python scripts/evaluate.py --data_dir=eval/ --model=model.keras`.

Prints a markdown table of AuC, rebalanced AuC and PSNR for the model and two baselines;
--output writes the full report as JSON, --contact_sheet a PNG of gray | prediction | truth rows.
--model is anything `keras_colorful.load` takes (default: the bundled model); --network_size=0
(or native) runs the network at each photo's own size. The same as `keras-colorful evaluate`
(`keras_colorful.cli.evaluate`); all logic lives in `keras_colorful.evaluation`.
"""

import sys

from keras_colorful import cli

if __name__ == "__main__":
    sys.exit(cli.main(["evaluate", *sys.argv[1:]]))
