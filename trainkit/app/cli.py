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


def main():
    """The `trainkit` console script and `python -m trainkit`."""
    _refuse_an_existing_run_dir(sys.argv[1:])
    return _hydra_main()


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def _hydra_main(cfg):
    try:
        validate(cfg)
        from trainkit.app import build  # here, not at the top: build imports the engine
        return build.run(cfg)  # the return value feeds sweepers (e.g. optuna)
    except KeyboardInterrupt as exc:
        # Ctrl-C: the Trainer finished its batch and saved a checkpoint (trainer.Interrupted)
        where = getattr(exc, "checkpoint", None)
        message = ("trainkit: interrupted; " + (
            f"checkpoint {where}. Continue with trainer.resume={os.path.dirname(where)}" if where
            else "before a checkpoint could be saved"))
        _log_to_file(message)
        print(message, file=sys.stderr)
        raise SystemExit(130) from None
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


def _refuse_an_existing_run_dir(argv):
    """`hydra.run.dir=DIR` naming an earlier run's folder: stop before Hydra rewrites its .hydra/ and log.

    (The Trainer refuses such a folder too, but only after Hydra has written into it.)"""
    if any(a in ("-m", "--multirun", "-c", "--cfg", "-i", "--info", "-h", "--help", "--hydra-help", "-sc",
                 "--shell-completion", "-p", "--package") for a in argv):
        return  # a sweep (its own folders), or Hydra printing something without running
    values = dict(a.split("=", 1) for a in argv if "=" in a and not a.startswith("-"))
    run_dir = values.get("hydra.run.dir")
    if not run_dir:
        return
    from trainkit.trainer import TrainerError, check_out_dir
    try:
        check_out_dir(run_dir, values.get("trainer.resume") or None)
    except TrainerError as exc:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"trainkit: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
