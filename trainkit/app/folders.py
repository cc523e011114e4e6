"""Checks on the output folder before Hydra writes anything into it.

Hydra writes `.hydra/` and opens the log file before trainkit's task starts, so a run that
would rewrite an earlier run's folder, or that cannot write at all, must be stopped here, from
the command line's own arguments:

- `hydra.run.dir=DIR` (also `+`/`++`) naming a folder that holds a run: refused, unless
  `trainer.resume` continues it in place (then the earlier `.hydra/` is kept and this run's
  goes to `.hydra/resume-TIME/`);
- `hydra.sweep.dir=DIR` naming an earlier sweep: refused (its job folders would be rewritten);
- two runs started together on one folder: the first claims it (an O_EXCL file), the other is
  refused;
- a read-only or full output location: one line naming it, instead of Hydra's
  "Unable to configure handler 'file'" traceback.
"""
import os
import secrets
import shutil
import sys
import time
from pathlib import Path

_NOT_A_RUN = ("-c", "--cfg", "-i", "--info", "-h", "--help", "--hydra-help", "-sc", "--shell-completion",
              "-p", "--package", "--resolve")
_MIN_FREE = 1 << 20  # below 1 MiB free a run cannot even write its config and log


def _fail(message):
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        from trainkit.checkpoint import TrainerError
        raise TrainerError(message)
    print(f"trainkit: error: {message}", file=sys.stderr)
    raise SystemExit(1)


def _values(argv):
    out = {}
    for a in argv:
        if "=" in a and not a.startswith("-"):
            key, value = a.split("=", 1)
            out[key.lstrip("+~")] = value
    return out


def check_before_hydra(argv):
    if any(a in _NOT_A_RUN for a in argv):
        return  # Hydra prints something without running
    from trainkit.checkpoint import TrainerError, check_out_dir, claim_folder
    values = _values(argv)
    resume = values.get("trainer.resume") or None
    if resume in ("null", "None"):
        resume = None
    multirun = "-m" in argv or "--multirun" in argv
    token = secrets.token_hex(8)
    os.environ["TRAINKIT_CLAIM"] = token  # the jobs (joblib, submitit processes too) recognise our claim
    if multirun:
        folder = values.get("hydra.sweep.dir")
        if folder is not None and "${" in folder:  # resolved by Hydra (e.g. ${now:...}): a new folder
            folder = None
        if folder is None:
            check_writable(Path("outputs/multirun"))
            return
        sweep = Path(folder)
        check_writable(sweep)
        if sweep.is_dir() and any(sweep.iterdir()) and resume != "auto":
            _fail(f"the sweep folder {folder!r} (hydra.sweep.dir) already holds a sweep; its job folders would be "
                  "rewritten. Use a new hydra.sweep.dir, or add trainer.resume=auto to continue each of its jobs "
                  "in place.")
        if resume != "auto" and not claim_folder(sweep, token):
            _fail(f"another sweep has just started in {folder!r} (hydra.sweep.dir); use another folder.")
        return
    folder = values.get("hydra.run.dir")
    if folder is not None and "${" in folder:  # resolved by Hydra (e.g. ${now:...}): a new folder
        folder = None
    if folder is None:
        check_writable(Path("outputs"))
        return
    run = Path(folder)
    check_writable(run)
    try:
        in_place = check_out_dir(run, resume)
    except TrainerError as exc:
        _fail(str(exc))
    if not in_place and not claim_folder(run, token):
        _fail(f"another run has just started in {folder!r} (hydra.run.dir); two runs never share a folder. Use "
              "another hydra.run.dir.")
    if in_place and (run / ".hydra").is_dir() and "hydra.output_subdir" not in values:
        # keep the earlier run's record of its config; this run's goes beside it
        sys.argv.append(f"hydra.output_subdir=.hydra/resume-{time.strftime('%Y%m%d-%H%M%S')}")


def check_writable(folder):
    """The nearest existing folder on the way to ``folder`` must be writable and have some space."""
    p = Path(os.path.abspath(folder))
    probe = p
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        _fail(f"cannot write the run folder {str(folder)!r}: {str(probe)!r} is a file, not a folder. Choose "
              "another hydra.run.dir / hydra.sweep.dir.")
    if not os.access(probe, os.W_OK | os.X_OK):
        _fail(f"cannot write the run folder {str(folder)!r}: {str(probe)!r} is read-only (or not yours). Run "
              "from a writable folder or set hydra.run.dir (hydra.sweep.dir for -m) to one.")
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return
    if free < _MIN_FREE:
        _fail(f"cannot write the run folder {str(folder)!r}: the disk holding {str(probe)!r} is full "
              f"({free // 1024} KiB free). Free some space or set hydra.run.dir to another disk.")
