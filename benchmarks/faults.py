"""Fault injection for trainkit runs: every file complete or absent, and resume exact, whatever happens.

    python benchmarks/faults.py                 # the full campaign (a few minutes on 2 cores)
    python benchmarks/faults.py --trials 5      # fewer trials of each kind

Each trial runs the real command line (`python -m trainkit`) on a small synthetic problem with
dropout (so the random streams matter) and a checkpoint every epoch, and breaks it:

    kill9        SIGKILL at a random moment
    kill9-write  SIGKILL inside a file write, half of the data on disk (TRAINKIT_FAULT_KILL_WRITE=N)
    sigterm      SIGTERM at a random moment (must exit 143 after a checkpoint, or 0 if it had finished)
    sigint       SIGINT likewise (130)
    full-disk    a 2 MiB tmpfs that fills up during the run (must exit 1 with one line naming the file)

then checks the folder (every .params/.states/.state/.json/metrics.jsonl file parses; every index's
files have the recorded size and sha256), resumes it in place with trainer.resume=auto, checks again
(no temporaries left), and compares metrics.jsonl with an uninterrupted run, value for value. A trial
is *safe* when all of that holds. tests/test_faults.py runs a handful of these trials.
"""
import argparse
import json
import os
import pickle
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

RUN = ["data=synthetic", "data.n_samples=480", "data.n_features=16", "model.hidden=[48]", "model.dropout=0.2",
       "trainer.epochs=6", "trainer.batch_size=16", "trainer.checkpoint_every=1", "optimizer.lr=0.05"]


def env(**extra):
    e = dict(os.environ)
    e.pop("HYDRA_FULL_ERROR", None)
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), e.get("PYTHONPATH")]))
    e.update(extra)
    return e


def command(folder, *extra):
    return [sys.executable, "-m", "trainkit", *RUN, f"hydra.run.dir={folder}", *extra]


def run(folder, *extra, timeout=300, **environ):
    return subprocess.run(command(folder, *extra), capture_output=True, text=True, timeout=timeout,
                          env=env(**environ))


def metrics(folder):
    path = Path(folder) / "metrics.jsonl"
    return [{k: v for k, v in json.loads(line).items() if k != "time"} for line in path.read_text().splitlines()]


def _strict(text):
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


def check_folder(folder, allow_temporaries=True):
    """Problems found in a run folder: any file of trainkit's that is not whole, any index whose files
    do not match it; with allow_temporaries=False also leftover temporaries."""
    import trainkit as mx
    from trainkit import checkpoint
    folder = Path(folder)
    problems = []
    if not folder.is_dir():
        return problems
    for f in sorted(folder.iterdir()):
        name = f.name
        try:
            if ".tmp-" in name or name.endswith(".tmp"):
                if not allow_temporaries:
                    problems.append(f"{name}: a temporary left behind")
            elif name.endswith(".params"):
                mx.nd.load(str(f))
            elif name == "model-symbol.json":
                mx.sym.load(str(f))
            elif name.startswith("trainer-") and name.endswith(".json"):
                checkpoint.read_index(f)
            elif name.endswith((".states", ".state")):
                pickle.loads(f.read_bytes())
            elif name in ("metrics.jsonl", "summary.jsonl"):
                for line in f.read_text().splitlines():
                    _strict(line)
            elif name == "status.json":
                _strict(f.read_text())
            elif name == "config_resolved.yaml":
                import yaml
                yaml.safe_load(f.read_text())
        except Exception as e:  # noqa: BLE001 - any failure to read is what we count
            problems.append(f"{name}: {type(e).__name__}: {str(e)[:160]}")
    return problems


def reference(work):
    folder = Path(work) / "reference"
    if not (folder / "metrics.jsonl").is_file():
        r = run(folder)
        assert r.returncode == 0, r.stderr
    return metrics(folder)


def _resume_and_compare(folder, ref, outcome):
    problems = check_folder(folder)
    r = run(folder, "trainer.resume=auto")
    if r.returncode != 0:
        problems.append(f"resume failed ({r.returncode}): {r.stderr.strip()[-300:]}")
        return problems
    problems += check_folder(folder, allow_temporaries=False)
    got = metrics(folder)
    if got != ref:
        problems.append(f"resumed metrics differ from the uninterrupted run ({outcome}): "
                        f"{len(got)} lines vs {len(ref)}")
    return problems


def trial_kill(work, ref, rng, signum=9, expect=None):
    """Start a run, send `signum` at a random moment, check, resume, compare."""
    folder = Path(tempfile.mkdtemp(dir=work)) / "run"
    proc = subprocess.Popen(command(folder), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env())
    if rng.random() < 0.2:  # now and then during start-up (imports, Hydra), before any file of ours
        time.sleep(rng.uniform(0.2, 2.0))
    else:  # mostly once training runs: metrics.jsonl appears when the Trainer is ready
        deadline = time.time() + 60
        while not (folder / "metrics.jsonl").exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.5))
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    problems = []
    if signum != 9 and proc.returncode not in (0, 128 + signum, -signum):
        problems.append(f"exit status {proc.returncode} after signal {signum}: {err.strip()[-300:]}")
    if signum != 9 and proc.returncode == 128 + signum and "Traceback" in err:
        problems.append("a traceback on a stop signal")
    return _resume_and_compare(folder, ref, f"signal {signum}, exit {proc.returncode}")


def trial_kill_in_write(work, ref, rng, writes=60):
    """SIGKILL during the N-th atomic write (half the data written), N at random."""
    folder = Path(tempfile.mkdtemp(dir=work)) / "run"
    n = rng.randint(1, writes)
    r = run(folder, TRAINKIT_FAULT_KILL_WRITE=str(n))
    outcome = f"killed in write {n}" if r.returncode == -9 else f"write {n} never came (exit {r.returncode})"
    return _resume_and_compare(folder, ref, outcome)


def trial_full_disk(work, size="2m"):
    """A small tmpfs that fills during the run: one line naming the file, exit 1, files whole or absent.
    Returns None when tmpfs cannot be mounted here (not root, or no mount permission)."""
    mount = Path(tempfile.mkdtemp(dir=work)) / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        return None
    try:
        folder = mount / "run"
        r = run(folder, "model.hidden=[400]", "trainer.epochs=60", "model.dropout=0")
        problems = []
        err = r.stderr.strip().splitlines()
        if r.returncode != 1:
            problems.append(f"exit status {r.returncode} on a full disk (expected 1)")
        if "Traceback" in r.stderr or len(err) != 1 or "No space left on device" not in r.stderr or \
                str(mount) not in r.stderr:
            problems.append(f"not one line naming the file: {r.stderr.strip()[-400:]}")
        problems += check_folder(folder)
        from trainkit import checkpoint
        index, meta = checkpoint.newest_complete(folder)
        if index is None:
            problems.append("no complete checkpoint survived")
        # a run started on the full disk stops before Hydra with one line, too
        r = run(mount / "second")
        if r.returncode != 1 or "Traceback" in r.stderr or "full" not in r.stderr:
            problems.append(f"a run on the full disk: {r.returncode} {r.stderr.strip()[-300:]}")
        return problems
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def campaign(trials, seed=0, work=None):
    rng = random.Random(seed)
    work = Path(work or tempfile.mkdtemp(prefix="trainkit-faults-"))
    ref = reference(work)
    kinds = {"kill9": lambda: trial_kill(work, ref, rng, 9),
             "kill9-write": lambda: trial_kill_in_write(work, ref, rng),
             "sigterm": lambda: trial_kill(work, ref, rng, 15),
             "sigint": lambda: trial_kill(work, ref, rng, 2)}
    results = {}
    for kind, trial in kinds.items():
        safe, failures = 0, []
        for _ in range(trials):
            problems = trial()
            safe += not problems
            failures += problems
        results[kind] = {"trials": trials, "safe": safe, "problems": failures[:5]}
        print(f"{kind:12s} {safe}/{trials} safe", *failures[:3], sep="\n  " if failures else "", flush=True)
    full = trial_full_disk(work)
    if full is None:
        print("full-disk    skipped: cannot mount a tmpfs here (needs root)")
    else:
        results["full-disk"] = {"trials": 1, "safe": int(not full), "problems": full}
        print(f"full-disk    {int(not full)}/1 safe", *full, sep="\n  " if full else "", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=12, help="trials of each kind (default 12)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results = campaign(args.trials, args.seed)
    total = sum(r["trials"] for r in results.values())
    safe = sum(r["safe"] for r in results.values())
    print(json.dumps({"trials": total, "safe": safe, "by_kind": {k: f"{v['safe']}/{v['trials']}"
                                                                 for k, v in results.items()}}))
    return 0 if safe == total else 1


if __name__ == "__main__":
    raise SystemExit(main())
