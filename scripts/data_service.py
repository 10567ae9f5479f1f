r"""Runs a tf.data service dispatcher or worker, to take the input pipeline off the trainers.

On one machine:            python scripts/data_service.py --role=dispatcher --port=5050
On each CPU machine:       python scripts/data_service.py --role=worker \
                               --dispatcher=grpc://dispatcher-host:5050 --port=5051 \
                               --worker_address=this-host:5051
Then train with            python scripts/train.py --data_service=grpc://dispatcher-host:5050 ...

`--role=both` runs a dispatcher and one worker in this process (a quick single-machine setup).
The servers run until the process is killed. The workers need no copy of the data pipeline code
(the trainer sends the dataset graph) but must be able to read the data (same paths, or gs://).
See docs/distributed.md. All logic lives in `keras_colorful.data.service`.
"""

from absl import app, flags, logging

FLAGS = flags.FLAGS
flags.DEFINE_enum("role", "dispatcher", ["dispatcher", "worker", "both"], "What to run.")
flags.DEFINE_integer("port", 5050, "Port of this server (dispatcher or worker; 'both': the "
                     "dispatcher's, the worker takes port + 1).")
flags.DEFINE_string("dispatcher", None, "Dispatcher address for --role=worker (grpc://host:port).")
flags.DEFINE_string("worker_address", None, "host:port under which trainers reach this worker "
                    "(default localhost:<port>; set it when trainers run on other machines).")
flags.DEFINE_string("work_dir", None, "Dispatcher journal directory (enables fault tolerance: a "
                    "restarted dispatcher recovers its jobs).")


def main(argv):
    del argv
    from keras_colorful.data import service

    servers = []
    if FLAGS.role in ("dispatcher", "both"):
        dispatcher = service.start_dispatcher(
            port=FLAGS.port, work_dir=FLAGS.work_dir, fault_tolerant=FLAGS.work_dir is not None)
        servers.append(dispatcher)
        logging.info("Dispatcher serving at %s", dispatcher.target)
        print(f"Dispatcher: {dispatcher.target}", flush=True)
    if FLAGS.role in ("worker", "both"):
        address = servers[0].target if FLAGS.role == "both" else FLAGS.dispatcher
        if not address:
            raise app.UsageError("--dispatcher is required for --role=worker.")
        port = FLAGS.port + 1 if FLAGS.role == "both" and FLAGS.port else FLAGS.port
        worker = service.start_worker(address, port=port, worker_address=FLAGS.worker_address)
        servers.append(worker)
        print(f"Worker on port {port or '(any free port)'}, registered with {address}",
              flush=True)
    servers[0].join()


if __name__ == "__main__":
    app.run(main)
