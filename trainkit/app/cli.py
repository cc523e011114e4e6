"""The command line: `trainkit ...` and `python -m trainkit ...`.

A thin @hydra.main wrapper: compose (Hydra), check (checks.validate), run (build.run).
Before Hydra starts: `--version`, `evaluate`/`predict` (commands.py), `+GROUP=` spellings of
groups that have a default (config.normalize_overrides), options whose extra is missing, and
debug=fast_dev_run's temporary run folder.
Mistakes a user can fix print as one message on stderr; the traceback is kept for
HYDRA_FULL_ERROR=1 and for real bugs. Exit statuses:

    0    the run finished (or nothing was left to train)
    1    an error: a config, data or file problem (one line), or a bug (a traceback);
         a sweep where any job failed, diverged or was interrupted
    3    training diverged (a non-finite loss or parameter)
    130  Ctrl-C (SIGINT), 143 SIGTERM, 138 SIGUSR1: 128 + the signal, after a checkpoint

Every job also leaves `status.json` in its folder (status, error, exit status), which the
sweep summary reads. In a sweep (-m) a failing job does not stop the others.
"""
import logging
import os
import re
import sys
import time
import traceback

import hydra

from trainkit.app.config import conf_dir, register_all
from trainkit.app.checks import validate

STARTED = time.time()  # build.run tells this process's .hydra/ from an earlier run's by it

register_all()  # the schemas and the `recipe` group must be stored before @hydra.main composes

EXIT_ERROR, EXIT_DIVERGED = 1, 3


def is_user_error(exc):
    """ConfigError, DataError and the engine's errors mark themselves with `user_error = True`."""
    return getattr(type(exc), "user_error", False) is True


def main():
    """The `trainkit` console script and `python -m trainkit`."""
    if len(sys.argv) > 1 and sys.argv[1] in ("evaluate", "predict"):  # a trained run in use: no Hydra run
        from trainkit.app import commands
        raise SystemExit(commands.main(sys.argv[1], sys.argv[2:]))
    if any(a in ("--version", "-V") for a in sys.argv[1:]):  # anywhere, as Hydra's own --version
        import trainkit
        print(f"trainkit {trainkit.__version__}")
        raise SystemExit(0)
    from trainkit.app import folders
    from trainkit.app.config import check_choices, normalize_overrides
    sys.argv[1:] = normalize_overrides(sys.argv[1:])
    try:
        check_choices(sys.argv[1:])
    except Exception as exc:
        if not is_user_error(exc) or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"trainkit: error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_ERROR) from None
    _note_search_without_multirun(sys.argv[1:])
    if any(a in ("-h", "--help") for a in sys.argv[1:]):
        _skip_hydras_group_listing()
    _skip_hydras_mode_probe(sys.argv[1:])
    scratch = _scratch_folder(sys.argv[1:])
    _stop_quietly_before_training()
    try:
        folders.check_before_hydra(sys.argv[1:])
        return _hydra_main()
    except KeyboardInterrupt as exc:  # a stop signal before the Trainer took over: nothing to save yet
        signum = int(getattr(exc, "signum", 2))
        print(f"trainkit: interrupted ({'Ctrl-C' if signum == 2 else _signal_name(signum)}) before training "
              "started; nothing was saved.", file=sys.stderr)
        raise SystemExit(128 + signum) from None
    finally:
        if scratch is not None:
            import shutil
            shutil.rmtree(scratch, ignore_errors=True)


def _skip_hydras_group_listing():
    """Hydra's --help formats $APP_CONFIG_GROUPS and $HYDRA_CONFIG_GROUPS whether or not the template uses
    them, and each group it asks about copies the whole config repository: two thirds of the page's time.
    trainkit's template lists its groups itself (${trainkit_help:}), so those two are left empty."""
    try:
        from hydra._internal.hydra import Hydra
    except ImportError:
        return
    if hasattr(Hydra, "format_config_groups"):
        Hydra.format_config_groups = lambda self, predicate, compact=True: ""


# command-line options through which configs other than trainkit's own can take part, or set hydra.mode
_OWN_CONFIGS_ONLY_UNLESS = ("hydra.mode", "hydra.searchpath", "-cd", "--config-dir", "-cp", "--config-path", "-cn",
                            "--config-name")
_SETS_MODE = re.compile(r"^\s*mode:\s*['\"]?(MULTIRUN|RUN)\b", re.M)


def _skip_hydras_mode_probe(args):
    """Before a run Hydra composes the whole config a first time, in MULTIRUN mode, only to read
    `hydra.mode`: a third of the start-up. When no config sets it, Hydra's answer is None (one job, or a
    sweep with -m), so when the command line neither sets it nor brings configs of its own and none of
    conf/ and recipes/ sets it, the probe is skipped with that answer (and Hydra's is put back otherwise,
    for a process that runs more than one command)."""
    global _hydras_probe
    try:
        from hydra._internal.hydra import Hydra
    except ImportError:
        return
    if _hydras_probe is None:
        _hydras_probe = Hydra.__dict__.get("get_mode", False)
    if _hydras_probe is not False:
        Hydra.get_mode = _no_mode if _only_trainkits_configs(args) else _hydras_probe


_hydras_probe = None  # Hydra.get_mode as Hydra defines it (False: this Hydra has none)


def _no_mode(self, config_name, overrides):
    return None


def _only_trainkits_configs(args):
    for a in args:
        key = a.split("=", 1)[0].lstrip("+~")
        if key in _OWN_CONFIGS_ONLY_UNLESS or key.startswith("hydra.searchpath"):
            return False
    from trainkit.app.config import conf_dir, recipes_dir
    return not any(_SETS_MODE.search(f.read_text(encoding="utf-8", errors="replace"))
                   for folder in (conf_dir(), recipes_dir()) for f in folder.rglob("*.yaml"))


def _note_search_without_multirun(args):
    """Without -m Hydra never starts the sweeper: say so rather than silently train once."""
    from trainkit.app.folders import _NOT_A_RUN
    chosen = [a for a in args if a.split("=", 1)[0] == "hparams_search" and a.split("=", 1)[1] not in ("", "null")]
    if chosen and not any(a in ("-m", "--multirun") or a in _NOT_A_RUN for a in args):
        print(f"trainkit: note: {chosen[0]} only searches in a sweep; add -m (python -m trainkit -m {chosen[0]} "
              "...). This is one ordinary run with the config's own values.", file=sys.stderr)


def _scratch_folder(args):
    """debug=fast_dev_run writes nothing that outlives it: Hydra's run (or sweep) folder, its .hydra/ and log
    go to a temporary folder, removed when the process ends. None for any other run, or when the command
    line names its own folder (hydra.run.dir / hydra.sweep.dir), which is then left as Hydra made it."""
    from trainkit.app.folders import _NOT_A_RUN
    if "debug=fast_dev_run" not in args or any(a in _NOT_A_RUN for a in args):
        return None
    multirun = "-m" in args or "--multirun" in args
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    if any(a.lstrip("+").startswith(key + "=") for a in args):
        return None
    import tempfile
    scratch = tempfile.mkdtemp(prefix="trainkit-fast-dev-run-")
    sys.argv.append(f"{key}={os.path.join(scratch, 'run')}")
    return scratch


class _EarlyStop(KeyboardInterrupt):
    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _stop_quietly_before_training():
    """SIGTERM/SIGUSR1 during start-up end the process like Ctrl-C (one line, 128 + signal) rather than
    silently; the Trainer replaces these handlers with its own while it trains."""
    import signal

    def handler(signum, frame):
        raise _EarlyStop(signum)
    handler.trainkit_early = True  # the Trainer does not chain to it
    for name in ("SIGTERM", "SIGUSR1"):
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, handler)


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def _hydra_main(cfg):
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    logging.raiseExceptions = False  # a full disk must not print a "Logging error" traceback per record
    try:
        validate(cfg)
        from trainkit.app import build  # here, not at the top: build imports the engine
        result = build.run(cfg)  # the return value feeds sweepers (e.g. optuna)
    except KeyboardInterrupt as exc:
        # a stop signal: the Trainer finished its batch and saved a checkpoint (trainer.Interrupted)
        signum = int(getattr(exc, "signum", 2))
        where = getattr(exc, "checkpoint", None)
        name = "Ctrl-C" if signum == 2 else _signal_name(signum)
        message = (f"trainkit: interrupted ({name}); " + (
            f"checkpoint {where}. Continue with trainer.resume={os.path.dirname(where)} (or trainer.resume=auto "
            f"in that folder)" if where else "before a checkpoint could be saved"))
        _finish("interrupted", message, 128 + signum)
        print(message, file=sys.stderr)
        raise SystemExit(128 + signum) from None  # a sweep stops too: the user asked it to
    except SystemExit:
        raise  # submitit's requeue exits on its own
    except Exception as exc:
        diverged = getattr(type(exc), "exit_status", None) == EXIT_DIVERGED
        status = EXIT_DIVERGED if diverged else EXIT_ERROR
        user = is_user_error(exc)
        message = f"trainkit: {'diverged' if diverged else 'error'}: {exc}" if user else \
            f"trainkit: crashed: {type(exc).__name__}: {exc}"
        _finish("diverged" if diverged else "failed", message, status,
                None if user else traceback.format_exc())
        if os.environ.get("HYDRA_FULL_ERROR") == "1" or (not user and not multirun):
            raise  # Hydra prints the traceback
        print(message if user else message + " (the traceback is in the job's log)", file=sys.stderr)
        if multirun:
            return None  # recorded in status.json; the sweep goes on and exits 1 at the end
        # SystemExit passes through Hydra's `except Exception`, which would print a traceback.
        raise SystemExit(status) from None
    _finish("ok", None, 0)
    return result


def _signal_name(signum):
    import signal
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _finish(status, message, exit_status, trace=None):
    """status.json in the job's folder, and the error in its log file (not on the console twice)."""
    if message:
        _log_to_file(message if trace is None else f"{message}\n{trace}")
    try:
        import json

        from hydra.core.hydra_config import HydraConfig

        from trainkit import files
        folder = HydraConfig.get().runtime.output_dir
        record = {"status": status, "exit_status": exit_status, "error": message}
        files.write_text(os.path.join(folder, "status.json"), json.dumps(record) + "\n")
    except Exception:  # a read-only or full folder: the message on stderr is what remains
        pass


def _log_to_file(message):
    """Put the error in the run's log file too, but not on the console a second time."""
    record = logging.LogRecord("trainkit", logging.ERROR, __file__, 0, message, None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            try:
                handler.handle(record)
            except Exception:
                pass
