"""After a sweep (`python -m trainkit -m ...`): one table of every job's final metrics.

`SweepSummary` is a Hydra callback, configured under `hydra.callbacks` in conf/config.yaml.
Hydra calls `on_multirun_end` in the launching process once every job has returned, whatever
the launcher (basic, joblib, submitit_local, submitit_slurm), so it reads what the jobs wrote
(`<sweep dir>/<job>/metrics.jsonl` and `.hydra/overrides.yaml`) rather than their return values,
which other launchers keep in other processes. The table is printed and saved as
`<sweep dir>/summary.jsonl`, one line per job, with each job's status from its `status.json`
(ok, failed, diverged, interrupted; "crashed" when a job left none). The sweep then exits with
status 1 if any job did not finish ok.
"""
import json
import logging
import sys
from pathlib import Path

from hydra.experimental.callback import Callback

log = logging.getLogger("trainkit")

COLUMNS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy")


class SweepSummary(Callback):
    def on_multirun_start(self, config, **kwargs):
        # resolve ${now:...} once: the same config object resolves the same folder at the end
        self._sweep_dir = str(config.hydra.sweep.dir)

    def on_multirun_end(self, config, **kwargs):
        folder = Path(getattr(self, "_sweep_dir", None) or str(config.hydra.sweep.dir))
        from trainkit import files
        rows = collect(folder)
        if not rows:
            return
        files.write_text(folder / "summary.jsonl", "".join(json.dumps(row) + "\n" for row in rows))
        print(f"\nsweep {folder} ({len(rows)} jobs):\n{format_summary(rows)}", flush=True)
        bad = [r for r in rows if not r["status"].startswith("ok") and r["status"] != "stopped early"]
        if bad:
            for r in bad:
                print(f"job {r['job']} {r['status']}: {r.get('error') or '(no message)'}", file=sys.stderr)
            print(f"trainkit: {len(bad)} of {len(rows)} jobs did not finish ok (summary in "
                  f"{folder / 'summary.jsonl'})", file=sys.stderr, flush=True)
            raise SystemExit(1)


def collect(folder):
    """One dict per job folder under `folder`: job, overrides, status, final metrics, best."""
    jobs = [d for d in Path(folder).iterdir() if d.is_dir() and (d / ".hydra").is_dir()]
    jobs.sort(key=lambda d: (not d.name.isdigit(), int(d.name) if d.name.isdigit() else 0, d.name))
    rows = []
    for d in jobs:
        row = {"job": d.name, "overrides": _overrides(d)}
        status = _status(d)
        lines = _metrics(d / "metrics.jsonl")
        row["status"] = status.get("status", "crashed")
        if status.get("error"):
            row["error"] = status["error"]
        if lines:
            row.update({k: lines[-1][k] for k in COLUMNS if k in lines[-1]})
            key = "val_accuracy" if "val_accuracy" in lines[-1] else "train_accuracy"
            scored = [r for r in lines if isinstance(r.get(key), (int, float))]
            if scored:
                best = max(scored, key=lambda r: r[key])
                row["best"] = {"metric": key, "value": best[key], "epoch": best["epoch"]}
            if row["status"] == "ok" and not _finished(d, lines):
                row["status"] = "stopped early"
        elif row["status"] == "ok":
            row["status"] = "ok (no metrics: dry run or nothing to train)"
        rows.append(row)
    return rows


def format_summary(rows):
    """A plain-text table; overrides shared by every job are left out to show what varied."""
    shared = set.intersection(*(set(r["overrides"]) for r in rows)) if rows else set()
    header = ["job", "status", "overrides", *COLUMNS, "best"]
    body = []
    for r in rows:
        varied = " ".join(o for o in r["overrides"] if o not in shared) or "-"
        cells = [r["job"], r["status"].split(" (")[0], varied]
        for k in COLUMNS:
            v = r.get(k)
            cells.append("" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v)))
        best = r.get("best")
        cells.append(f"{best['value']:.4f}@{best['epoch']}" if best else "-")
        body.append(cells)
    widths = [max(len(str(line[i])) for line in [header] + body) for i in range(len(header))]
    fmt = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(b) for b in body])


def _overrides(job_dir):
    path = job_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    from omegaconf import OmegaConf
    return [str(o) for o in OmegaConf.load(path)]


def _status(job_dir):
    try:
        return json.loads((job_dir / "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _metrics(path):
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            log.warning("%s: skipping a line that is not JSON", path)
    return out


def _finished(job_dir, lines):
    ckpts = sorted(job_dir.glob("trainer-*.json"))
    if not ckpts:
        return False
    try:
        meta = json.loads(ckpts[-1].read_text(encoding="utf-8"))
    except ValueError:
        return False
    return bool(meta.get("complete")) and (meta.get("epoch") >= meta.get("epochs", 0) or meta.get("stop_reason"))
