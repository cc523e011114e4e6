"""A Trainer run's files: checkpoints written, verified, found, pruned; run folders claimed.

One checkpoint ``NNNN`` is::

    model-symbol.json, model-NNNN.params   MXNet's checkpoint (mx.model.load_checkpoint reads it); for a
                                           Gluon block, model-NNNN.params (save_parameters) and, when it
                                           hybridized, model-export-symbol.json + model-export-NNNN.params
    model-NNNN.states                      optimizer states + optimizer (pickle, MXNet's .states layout)
    trainer-NNNN.state                     random streams (compact, trainkit.random_state), metric and
                                           callback states (pickle)
    trainer-NNNN.json                      epoch, position, history, best, config; the size and sha256
                                           of every file above. Written last: it is the index.

Every file goes through ``trainkit.files`` (whole or absent). A checkpoint is *complete* when its
index parses and every file it lists is there with the recorded size and digest; resuming a
folder takes the newest complete one and warns, naming the file, about each damaged one it
passes over.
"""
import hashlib
import json
import logging
import math
import os
import pickle
from pathlib import Path

import numpy as np

from . import files
from . import random as _random
from . import random_state as _random_state
from .base import MXNetError

log = logging.getLogger("trainkit")

FORMAT = "trainkit-trainer/1"
PREFIX = "model"
CLAIM = ".trainkit-run"          # marks a folder as a run's; see claim_folder
_RUN_FILES = ("metrics.jsonl", "best.params", "config_resolved.yaml")


class TrainerError(MXNetError):
    """A problem with the Trainer's inputs or files that the user can fix; says what to change."""

    user_error = True  # the command line prints these as one message, without a traceback


class CheckpointError(TrainerError):
    """A checkpoint file is missing, truncated or damaged; the message names it."""


def name(kind, number):
    stem = "trainer" if kind in ("json", "state") else PREFIX
    return f"{stem}-{int(number):04d}.{kind}"


def _number(path):
    tail = Path(path).stem.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def indexes(folder):
    """Every ``trainer-NNNN.json`` in ``folder``, newest first."""
    found = [f for f in Path(folder).glob("trainer-*.json") if _number(f) is not None]
    return sorted(found, key=_number, reverse=True)


# ----- writing --------------------------------------------------------------------------------------
def digest(data):
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def write(out, number, blobs, meta):
    """Write checkpoint ``number``: ``blobs`` maps file name -> bytes; the index goes last."""
    out = Path(out)
    meta = dict(meta)
    meta["digests"] = {}
    for fname, data in blobs.items():
        files.write_bytes(out / fname, data)
        meta["digests"][fname] = digest(data)
    path = out / name("json", number)
    files.write_text(path, json.dumps(meta, indent=1, allow_nan=False) + "\n")
    return path


def prune(out, keep_last, protect=()):
    """Keep the newest ``keep_last`` complete checkpoints (and the numbers in ``protect``, e.g. the
    best epoch's); delete the rest, index first so a crash here never leaves an index without files."""
    if not keep_last:
        return []
    complete = []
    for path in indexes(out):
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if meta.get("complete"):
            complete.append((path, meta))
    removed = []
    for path, meta in complete[int(keep_last):]:
        number = _number(path)
        if number in protect:
            continue
        files.remove(path)
        for fname in (meta.get("files") or {}).values():
            if fname != f"{PREFIX}-symbol.json" and _number(fname) == number:
                files.remove(Path(out) / fname)
        removed.append(number)
    if removed:
        log.info("trainer.keep_last=%d: removed checkpoint(s) %s", keep_last, ", ".join(map(str, sorted(removed))))
    return removed


# ----- reading --------------------------------------------------------------------------------------
def read_index(path):
    """The checked index of checkpoint ``path``: every file it lists is there, whole (its size and
    sha256 as recorded). Raises CheckpointError naming the first file that is not."""
    path = Path(path)
    try:
        meta = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {str(path)!r}: {e.strerror}.") from None
    except (UnicodeDecodeError, ValueError):
        raise CheckpointError(f"checkpoint index {str(path)!r} is damaged (not JSON: truncated or "
                              "overwritten).") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("files"), dict):
        raise CheckpointError(f"{str(path)!r} is not a trainkit trainer checkpoint (format "
                              f"{meta.get('format') if isinstance(meta, dict) else None!r}).")
    folder = path.parent
    for key in ("params", "states", "state"):
        fname = meta["files"].get(key)
        if not fname or not (folder / fname).is_file():
            raise CheckpointError(f"checkpoint {str(path)!r} is incomplete: {fname} is missing beside it.")
    for fname, want in (meta.get("digests") or {}).items():
        target = folder / fname
        try:
            data = target.read_bytes()
        except OSError as e:
            raise CheckpointError(f"checkpoint file {str(target)!r} cannot be read: {e.strerror}.") from None
        if digest(data) != want:
            raise CheckpointError(f"checkpoint file {str(target)!r} is damaged: {len(data)} bytes where "
                                  f"{want['size']} were written, or other contents (sha256 differs).")
    return meta


def find_checkpoint(path):
    """The newest ``trainer-NNNN.json`` in a run folder, or the one a checkpoint file belongs to.

    ``path`` may be the folder, or any of ``model-NNNN.params``, ``model-NNNN.states`` and
    ``trainer-NNNN.json``/``.state``. Raises TrainerError when there is none.
    """
    p = Path(os.path.expanduser(str(path)))
    if not p.exists():
        raise TrainerError(f"resume path {str(path)!r} (trainer.resume) does not exist (relative paths start "
                           f"from {os.getcwd()}). Point it at an earlier run's output folder.")
    if p.is_file():
        num = _number(p)
        candidate = p.parent / f"trainer-{num:04d}.json" if num is not None else None
        if candidate is not None and candidate.is_file():
            return candidate
        raise TrainerError(f"resume path {str(path)!r} (trainer.resume) is not part of a trainkit checkpoint: "
                           f"there is no {candidate.name if candidate else 'trainer-NNNN.json'} beside it. Point "
                           "it at a run folder, or at a model-NNNN.params or trainer-NNNN.json file of one.")
    found = indexes(p)
    if found:
        return found[0]
    mxnet = sorted(p.glob(f"{PREFIX}-*.params"))
    hint = (f" It holds {mxnet[-1].name} but no trainer state; to start from those weights use "
            f"initializer=load initializer.path={mxnet[-1]}." if mxnet else "")
    raise TrainerError(f"resume path {str(path)!r} (trainer.resume) holds no checkpoint: no trainer-NNNN.json "
                       f"in {str(p.resolve())!r}.{hint} Point it at a run folder that saved one (a run "
                       "writes one at its last epoch, every trainer.checkpoint_every epochs, and on Ctrl-C).")


def newest_complete(path):
    """``(index path, meta)`` of the checkpoint to resume from ``path``: for a folder, the newest
    complete one, warning about each damaged newer one; for a file, that checkpoint (an error if
    damaged). ``(None, None)`` for a folder with no checkpoint at all (``trainer.resume=auto``)."""
    p = Path(os.path.expanduser(str(path)))
    if p.is_file():
        index = find_checkpoint(p)
        return index, read_index(index)
    if not p.is_dir():
        return None, None
    problems = []
    for index in indexes(p):
        try:
            meta = read_index(index)
        except CheckpointError as e:
            log.warning("skipping a damaged checkpoint: %s", e)
            problems.append(str(e))
            continue
        if problems:
            log.warning("resuming from the previous complete checkpoint, %s", index)
        return index, meta
    if problems:
        raise CheckpointError(f"no complete checkpoint in {str(p)!r}: {' '.join(problems)} Start afresh "
                              "(trainer.resume=null in a new folder) or restore the files.")
    return None, None


def load_params(path):
    """``(arg_params, aux_params)`` of a ``.params`` file, or CheckpointError naming it."""
    from . import nd
    try:
        saved = nd.load(str(path))
    except (ValueError, OSError, UnicodeDecodeError) as e:
        raise CheckpointError(f"checkpoint file {str(path)!r} cannot be read as MXNet parameters: "
                              f"{str(e).splitlines()[0]}") from None
    if not isinstance(saved, dict) or not all(k.startswith(("arg:", "aux:")) for k in saved):
        raise CheckpointError(f"checkpoint file {str(path)!r} holds no 'arg:NAME'/'aux:NAME' parameters.")
    arg = {k[4:]: v for k, v in saved.items() if k.startswith("arg:")}
    aux = {k[4:]: v for k, v in saved.items() if k.startswith("aux:")}
    return arg, aux


def load_pickle(path, what):
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except Exception as e:  # UnpicklingError, EOFError, ValueError, ...: a damaged file
        raise CheckpointError(f"checkpoint file {str(path)!r} ({what}) is damaged: {type(e).__name__}: "
                              f"{str(e)[:120]}.") from None


def flatten(d, prefix=""):
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists stay whole)."""
    out = {}
    for k, v in (d or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def config_diff(saved, now):
    """``{key: [saved value, new value]}`` for every dotted key that differs."""
    a, b = flatten(saved), flatten(now)
    return {k: [a.get(k), b.get(k)] for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


# ----- a Trainer's checkpoint, written and restored ---------------------------------------------------
def save(trainer, number, batches_done):
    """Write checkpoint ``number`` (= epochs done, or the epoch in progress when batches_done > 0)."""
    out = trainer.out_dir
    seed = trainer.seed
    state = {"random": trainer._packer.pack(_random.get_state(), seed),
             "epoch_random": _random_state.pack(trainer._epoch_random, seed) if batches_done and
             trainer._epoch_random is not None else None,
             "extra": trainer._extra if batches_done else None,
             "callbacks": [cb.state_dict() if hasattr(cb, "state_dict") else None for cb in trainer.callbacks]}
    names, blobs = trainer.model.checkpoint_files(number)  # the network's own files (Module's, Gluon's)
    names = dict(names, states=name("states", number), state=name("state", number))
    blobs = dict(blobs)
    blobs[names["states"]] = trainer._updater.get_states(dump_optimizer=True)
    blobs[names["state"]] = pickle.dumps(state, protocol=4)
    meta = {
        "format": FORMAT,
        "model": trainer.model.kind,         # whose files: "module" (MXNet's checkpoint) or "gluon"
        "number": number,                    # NNNN of this checkpoint's files
        "epoch": trainer.epoch,                 # complete epochs
        "complete": batches_done == 0,
        "batches_done": batches_done,        # of epoch `epoch + 1`, when not complete
        "partial": trainer._partial if batches_done else None,
        "epochs": trainer.epochs,
        "seed": trainer.seed,
        "shuffle": {"enabled": trainer.shuffle,
                    "order": "numpy.random.default_rng([seed, epoch]).permutation(num_samples)"},
        "best": _finite_or_none(trainer._best.as_dict()),
        "stop_reason": trainer.stop_reason,
        "resumed_from": trainer.resumed_from,
        "history": [json.loads(_json_line(h)) for h in trainer.history],
        "config": trainer.config,
        "config_changes": trainer.config_changes,
        "files": names,
    }
    path = write(out, number, blobs, meta)
    trainer.last_checkpoint = str(path)
    if trainer.keep_last:
        protect = {trainer._best.epoch} if trainer._best.epoch else set()
        prune(out, trainer.keep_last, protect | {number})
    return path

def restore(trainer, path, meta=None):
    path = Path(path)
    if meta is None:
        meta = read_index(path)
    folder, files = path.parent, meta["files"]
    kind = meta.get("model", "module")
    if kind != trainer.model.kind:
        raise TrainerError(f"checkpoint {str(path)!r} holds a {KINDS.get(kind, kind)}, but this run trains a "
                           f"{KINDS.get(trainer.model.kind, trainer.model.kind)}; resume with the model of that run, "
                           "or start afresh.")
    trainer.model.load_checkpoint(folder, files)
    wanted = trainer._updater.optimizer
    try:
        trainer._updater.set_states((folder / files["states"]).read_bytes())
    except Exception as e:  # a damaged pickle raises anything from UnpicklingError to ValueError
        raise CheckpointError(f"checkpoint file {str(folder / files['states'])!r} (optimizer states) is "
                              f"damaged: {type(e).__name__}: {str(e)[:120]}.") from None
    state = load_pickle(folder / files["state"], "random streams and callback states")
    try:
        _random.set_state(_random_state.unpack(state["random"]))
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"checkpoint file {str(folder / files['state'])!r} holds no usable random "
                              f"state: {e}.") from None
    trainer._packer.prime(state["random"])
    saved_cbs = state.get("callbacks") or []
    for cb, saved in zip(trainer.callbacks, saved_cbs):
        if saved is not None and hasattr(cb, "load_state_dict"):
            cb.load_state_dict(saved)
    trainer.history = list(meta["history"])
    trainer.epoch = int(meta["epoch"])
    trainer._best.load(meta.get("best") or {})
    if not meta["complete"]:
        trainer._batches_done = int(meta["batches_done"])
        trainer._partial = meta["partial"]
        er = state.get("epoch_random")
        trainer._epoch_random = _random_state.unpack(er) if er is not None else None
        if state.get("extra") is not None:
            trainer._extra = state["extra"]
    if meta.get("seed") != trainer.seed:
        log.warning("resuming a run trained with seed=%s under seed=%s: the data order changes from here",
                    meta.get("seed"), trainer.seed)
    trainer.config_changes = list(meta.get("config_changes") or [])
    changes = _apply_optimizer_changes(trainer, wanted)
    if trainer.config is not None and meta.get("config") is not None:
        changes.update({k: v for k, v in config_diff(meta["config"], trainer.config).items()
                        if k != "trainer.resume" and k not in changes})
    if changes:
        trainer.config_changes.append({"epoch": trainer.epoch, "changes": changes})
        log.info("resume: %s apply from epoch %d", ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changes.items()),
                 trainer.epoch + 1)
    trainer.resumed_from = str(folder.resolve())
    trainer.last_checkpoint = str(path)
    where = f"epoch {trainer.epoch}" + ("" if meta["complete"] else f" + {trainer._batches_done} batches")
    log.info("resumed from %s (%s)", path, where)

def _apply_optimizer_changes(trainer, wanted):
    """The restored optimizer carries the saved lr, wd, ...; this run's settings win where they can
    (recorded in config_changes), and a different optimizer is refused."""
    restored = trainer._updater.optimizer
    if type(restored) is not type(wanted):
        raise TrainerError(f"the checkpoint was trained with optimizer {type(restored).__name__.lower()}, this run "
                           f"asks for {type(wanted).__name__.lower()}: the saved optimizer state only fits the "
                           f"former. Resume with optimizer={type(restored).__name__.lower()}, or start afresh.")
    changes = {}
    for attr in ("lr", "wd", "clip_gradient", "momentum", "beta1", "beta2", "epsilon", "gamma1", "gamma2",
                 "eps", "centered", "clip_weights"):
        if not hasattr(wanted, attr):
            continue
        old, new = getattr(restored, attr, None), getattr(wanted, attr)
        if old == new or (isinstance(old, float) and isinstance(new, float) and math.isclose(old, new)):
            continue
        if attr == "lr" and callable(getattr(restored.lr_scheduler, "restart", None)):
            restored.lr_scheduler.restart(new)  # a plateau rule continues from the new rate
        elif attr == "lr" and restored.lr_scheduler is not None:
            raise TrainerError(f"optimizer.lr changed from {old} to {new}, but the run follows a learning-rate "
                               "schedule saved in the checkpoint, which a new lr cannot enter. Resume with "
                               f"optimizer.lr={old}, or start afresh.")
        setattr(restored, attr, new)
        changes[f"optimizer.{attr}"] = [old, new]
    saved, now = restored.lr_scheduler, wanted.lr_scheduler
    if type(saved) is type(now) and callable(getattr(saved, "adopt_settings", None)):
        # the saved scheduler keeps its state (reduced rate, patience count); this run's settings apply
        changes.update({f"optimizer.lr_scheduler.{k}": v for k, v in saved.adopt_settings(now).items()})
    return changes


KINDS = {"module": "Module (mx.mod.Module)", "gluon": "Gluon block"}


def check_saved_shapes(module, arg_params, aux_params, source, key):
    """Saved parameters must fit the bound module; name the data's feature count when fc1 does not."""
    live = module.params
    problems = []
    for pname, arr in list(arg_params.items()) + list(aux_params.items()):
        if pname in live and tuple(arr.shape) != tuple(live[pname].shape):
            problems.append(f"{pname} is {tuple(arr.shape)} there but {tuple(live[pname].shape)} in this model")
    missing = [n for n in live if n not in arg_params and n not in aux_params]
    if missing:
        problems.append(f"it lacks {', '.join(missing)}")
    if problems:
        features = int(np.prod(module.data_shapes[0].shape[1:])) if module.data_shapes[0].shape[1:] else 1
        raise TrainerError(f"{source} does not fit this model (the data has {features} features per sample): "
                           f"{'; '.join(problems)}. Resume with the data and model.* settings of that run, or "
                           f"change {key}.")


def _json_line(logs):
    """One strict-JSON line: non-finite numbers become null and are listed under "non_finite"."""
    bad = [k for k, v in logs.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        logs = {k: (None if k in bad else v) for k, v in logs.items()}
        logs["non_finite"] = bad
    return json.dumps(logs, allow_nan=False) + "\n"


def _finite_or_none(d):
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


# ----- run folders ----------------------------------------------------------------------------------
def run_files(folder, app=True):
    """What makes ``folder`` a run's: the Trainer's files and, with ``app``, the command line's
    (config_resolved.yaml, Hydra's .hydra/, the claim)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [f for f in _RUN_FILES if (folder / f).exists() and (app or f != "config_resolved.yaml")]
    if app and (folder / ".hydra").is_dir():
        found.append(".hydra/")
    found += [f.name for f in sorted(indexes(folder), key=_number)]
    found += sorted(f.name for f in folder.glob(f"{PREFIX}-*.params"))
    if app and (folder / CLAIM).exists() and not _claimed_by_us(folder):
        found.append(CLAIM)
    return found


def _claimed_by_us(folder):
    token = os.environ.get("TRAINKIT_CLAIM")
    try:
        return bool(token) and (Path(folder) / CLAIM).read_text(encoding="utf-8").strip() == token
    except OSError:
        return False


def check_out_dir(out_dir, resume=None, own=(), app=True):
    """Refuse a folder that already holds a run, unless ``resume`` continues it in place (then True).

    ``resume`` is a path (in place when it is in ``out_dir``) or ``"auto"``; ``own`` lists names that
    this process wrote itself (Hydra's .hydra/ of this very run); ``app=False`` looks at the Trainer's
    own files only."""
    out = Path(out_dir)
    taken = [f for f in run_files(out, app) if f not in own]
    if resume == "auto":
        return True
    if resume is not None:
        target = Path(os.path.expanduser(str(resume)))
        if (target if target.is_dir() else target.parent).resolve() == out.resolve():
            return True
    if taken:
        raise TrainerError(f"the output folder {str(out)!r} already holds a run ({', '.join(taken[:4])}"
                           f"{', ...' if len(taken) > 4 else ''}); trainkit never overwrites a run's files. "
                           f"Use a new folder, or continue that run in place with trainer.resume=auto.")
    return False


def claim_folder(folder, token):
    """Mark ``folder`` as taken, atomically (O_EXCL): False when another run got there first."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(folder / CLAIM, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return True


class FolderLock:
    """An exclusive lock on a run folder while a process writes into it (flock: the kernel drops it
    when the process dies, even by kill -9). ``acquire`` raises TrainerError if another holds it."""

    def __init__(self, folder):
        self.path = Path(folder) / ".trainkit.lock"
        self.fd = None

    def acquire(self):
        import fcntl
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise files.WriteError(self.path, e) from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            other = os.pread(self.fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(self.fd)
            self.fd = None
            raise TrainerError(f"another trainkit process (pid {other}) is writing to {str(self.path.parent)!r} "
                               "right now; two runs never share a folder. Wait for it, or use another folder.") \
                from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)
        return self

    def release(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
