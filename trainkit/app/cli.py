"""The command line: `trainkit ...` and `python -m trainkit ...`.

A thin @hydra.main wrapper: compose (Hydra), check (schema.validate), run (build.run).
Mistakes a user can fix print as one message on stderr and exit 1; the traceback is
kept for HYDRA_FULL_ERROR=1 and for real bugs.
"""
import logging
import os
import sys

import hydra

from trainkit.app.config import conf_dir, register_all
from trainkit.app.schema import validate

register_all()  # the schemas and the `recipe` group must be stored before @hydra.main composes


def is_user_error(exc):
    """ConfigError, DataError and the engine's errors mark themselves with `user_error = True`."""
    return getattr(type(exc), "user_error", False) is True


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def main(cfg):
    try:
        validate(cfg)
        from trainkit.app import build  # here, not at the top: build imports the engine
        return build.run(cfg)  # the return value feeds sweepers (e.g. optuna)
    except Exception as exc:
        if not is_user_error(exc) or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise  # Hydra prints the traceback
        message = f"trainkit: error: {exc}"
        _log_to_file(message)
        print(message, file=sys.stderr)
        # SystemExit passes through Hydra's `except Exception`, which would print a traceback.
        raise SystemExit(1) from None


def _log_to_file(message):
    """Put the error in the run's log file too, but not on the console a second time."""
    record = logging.LogRecord("trainkit", logging.ERROR, __file__, 0, message, None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)
