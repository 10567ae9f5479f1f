"""Run a tf.data service dispatcher or worker, to take the input pipeline off the trainers.

    On one machine:       keras-colorful data-service --role dispatcher --port 5050
    On each CPU machine:  keras-colorful data-service --role worker \\
                              --dispatcher grpc://dispatcher-host:5050 --port 5051 \\
                              --worker-address this-host:5051
    Then train with       keras-colorful train --data-service grpc://dispatcher-host:5050 ...

--role both runs a dispatcher and one worker in this process (a quick single-machine setup). The
servers run until the process is killed. The workers need no copy of the data pipeline code (the
trainer sends the dataset graph) but must be able to read the data (same paths, or gs://). See
docs/distributed.md.
"""

from __future__ import annotations

import argparse
import time

from keras_colorful.cli import flags

ROLES = ("dispatcher", "worker", "both")
DEFAULT_PORT = 5050
SLEEP_SECONDS = 3600


def add_parser(commands) -> None:
    parser = flags.command(commands, "data-service", run, aliases=["data_service"],
                           help="run a tf.data service dispatcher or worker",
                           description=__doc__)
    flags.option(parser, "role", default=ROLES[0], choices=ROLES, help="what to run")
    flags.option(parser, "port", type=flags.non_negative_int, default=DEFAULT_PORT,
                 help="port of this server (dispatcher or worker; both: the dispatcher's, the "
                 "worker takes port + 1; 0: any free port)")
    flags.option(parser, "dispatcher", default=None, metavar="ADDRESS",
                 help="dispatcher address for --role worker (grpc://host:port)")
    flags.option(parser, "worker_address", default=None, metavar="HOST:PORT",
                 help="host:port under which trainers reach this worker (default "
                 "localhost:<port>; set it when trainers run on other machines)")
    flags.option(parser, "work_dir", default=None, metavar="DIR",
                 help="dispatcher journal directory (enables fault tolerance: a restarted "
                 "dispatcher recovers its jobs)")


def run(args: argparse.Namespace) -> int:
    if args.role == "worker" and not args.dispatcher:
        raise flags.UsageError("--dispatcher is required for --role worker.")
    from keras_colorful.data import service

    servers = []
    if args.role in ("dispatcher", "both"):
        dispatcher = service.start_dispatcher(
            port=args.port, work_dir=args.work_dir, fault_tolerant=args.work_dir is not None)
        servers.append(dispatcher)
        print(f"Dispatcher: {dispatcher.target}", flush=True)
    if args.role in ("worker", "both"):
        address = servers[0].target if args.role == "both" else args.dispatcher
        port = args.port + 1 if args.role == "both" and args.port else args.port
        worker = service.start_worker(address, port=port, worker_address=args.worker_address)
        servers.append(worker)
        print(f"Worker on port {port or '(any free port)'}, registered with {address}",
              flush=True)
    while True:  # the servers run in threads; unlike `join()`, sleeping lets Ctrl-C stop them
        time.sleep(SLEEP_SECONDS)
