"""A command's start-up: TensorFlow's chatter off the terminal unless --verbose, the log lines.

TensorFlow prints start-up lines when it is imported (oneDNN, CUDA, CPU features), some from
C++ code that ignores `TF_CPP_MIN_LOG_LEVEL`, straight to file descriptor 2. Unless --verbose,
`session` sets that level to 3 before TensorFlow is imported and keeps TensorFlow's and absl's
log warnings and other packages' Python warnings quiet, and `import_tensorflow` points
descriptor 2 at /dev/null for the first `import tensorflow` only, restoring it afterwards so
real errors still reach the terminal. The package's own log lines (the `keras_colorful`
loggers, e.g. "Resuming from ... at step ...") always go to stderr.

Example:

>>> with session(verbose=False):
...     import_tensorflow()
>>> import sys; "tensorflow" in sys.modules
True
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator

# Loggers whose warnings are start-up and tracing chatter rather than news for the user.
QUIET_LOGGERS = ("tensorflow", "absl")
PACKAGE_LOGGER = "keras_colorful"
LOG_FORMAT = "%(asctime)s %(levelname)s: %(message)s"
LOG_TIME_FORMAT = "%H:%M:%S"

_quiet = False  # set by `session`: whether `import_tensorflow` silences descriptor 2


@contextlib.contextmanager
def session(verbose: bool) -> Iterator[None]:
    """Runs a command: the package's log lines on stderr, and quiet unless `verbose`.

    Everything it changes (log levels and handlers, warning filters) is restored on exit.
    """
    global _quiet
    previous_quiet = _quiet
    _quiet = not verbose
    if not verbose and "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++ INFO, WARNING and ERROR lines
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT, LOG_TIME_FORMAT))
    package_logger = logging.getLogger(PACKAGE_LOGGER)
    levels = {name: logging.getLogger(name).level for name in (PACKAGE_LOGGER, *QUIET_LOGGERS)}
    propagate = package_logger.propagate
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.INFO)
    package_logger.propagate = False  # once, even if a library configures the root logger
    try:
        with warnings.catch_warnings():
            if not verbose:
                for name in QUIET_LOGGERS:
                    logging.getLogger(name).setLevel(logging.ERROR)
                warnings.filterwarnings("ignore")
                warnings.filterwarnings("default", module=PACKAGE_LOGGER)
            yield
    finally:
        package_logger.removeHandler(handler)
        package_logger.propagate = propagate
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        _quiet = previous_quiet


def import_tensorflow() -> None:
    """Imports TensorFlow once, with descriptor 2 silenced unless the session is verbose."""
    if "tensorflow" in sys.modules:
        return
    if not _quiet:
        import tensorflow  # noqa: F401
        return
    with _descriptor_2_to_devnull():
        import tensorflow  # noqa: F401


@contextlib.contextmanager
def _descriptor_2_to_devnull() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
