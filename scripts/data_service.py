r"""Runs a tf.data service dispatcher or worker, to take the input pipeline off the trainers.

On one machine:            python scripts/data_service.py --role=dispatcher --port=5050
On each CPU machine:       python scripts/data_service.py --role=worker \
                               --dispatcher=grpc://dispatcher-host:5050 --port=5051 \
                               --worker_address=this-host:5051
Then train with            python scripts/train.py --data_service=grpc://dispatcher-host:5050 ...

See docs/distributed.md. The same as `keras-colorful data-service`
(`keras_colorful.cli.data_service`); all logic lives in `keras_colorful.data.service`.
"""

import sys

from keras_colorful import cli

if __name__ == "__main__":
    sys.exit(cli.main(["data-service", *sys.argv[1:]]))
