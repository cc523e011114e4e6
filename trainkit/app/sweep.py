"""After a sweep (`python -m trainkit -m ...`): one table of every job, as text, CSV and a page.

`SweepSummary` is a Hydra callback, configured under `hydra.callbacks` in conf/config.yaml.
Hydra calls `on_multirun_end` in the launching process once every job has returned, whatever
the launcher (basic, joblib, submitit_local, submitit_slurm), so it reads what the jobs wrote
(`<sweep dir>/<job>/metrics.jsonl`, `status.json`, `trainer-NNNN.json` and
`.hydra/overrides.yaml`) rather than their return values, which other launchers keep in other
processes. It writes, in the sweep folder:

- `summary.jsonl`: one line per job (job, overrides, status, error, epoch, best, final, folder);
- `summary.csv`: the same, one row per job, for spreadsheets and pandas;
- `sweep.html`: the jobs ranked by their best monitored value, and their curves overlaid
  (trainkit/report_sweep.py);

and prints the table. A job's status comes from its `status.json` (ok, failed, diverged,
interrupted; "crashed" when a job left none). The sweep then exits with status 1 if any job
did not finish ok.

A job's monitored metric is the one its Trainer kept best.params by (the newest trainer-NNNN.json),
or, for a job that stopped before its first checkpoint, the one its config names
(trainer.early_stopping.monitor, else the task's default), so regression sweeps rank by val_rmse
and binary ones by val_auc without being told.
"""
import json
import logging
import math
import sys
from pathlib import Path

from hydra.experimental.callback import Callback

from trainkit.report_sweep import metric_columns, summary_csv, sweep_report, varied

log = logging.getLogger("trainkit")

_SPLITS = ("train_", "val_")


class SweepSummary(Callback):
    def on_multirun_start(self, config, **kwargs):
        # resolve ${now:...} once: the same config object resolves the same folder at the end
        self._sweep_dir = str(config.hydra.sweep.dir)

    def on_multirun_end(self, config, **kwargs):
        folder = Path(getattr(self, "_sweep_dir", None) or str(config.hydra.sweep.dir))
        rows = collect(folder)
        if not rows:
            return
        write_summary(folder, rows)
        print(f"\nsweep {folder} ({len(rows)} jobs):\n{format_summary(rows)}\n"
              f"(also in {folder / 'summary.csv'}; curves in {folder / 'sweep.html'})", flush=True)
        bad = [r for r in rows if not finished_ok(r)]
        if bad:
            for r in bad:
                print(f"job {r['job']} {r['status']}: {r.get('error') or '(no message)'}", file=sys.stderr)
            print(f"trainkit: {len(bad)} of {len(rows)} jobs did not finish ok (summary in "
                  f"{folder / 'summary.jsonl'})", file=sys.stderr, flush=True)
            raise SystemExit(1)


def finished_ok(row):
    return row["status"].startswith("ok") or row["status"] == "stopped early"


def write_summary(folder, rows):
    """summary.jsonl, summary.csv and sweep.html in ``folder``, each written whole."""
    from trainkit import files
    folder = Path(folder)
    histories = {r["job"]: read_metrics(Path(r["folder"]) / "metrics.jsonl") for r in rows}
    files.write_text(folder / "summary.jsonl", "".join(json.dumps(_strict(r)) + "\n" for r in rows))
    files.write_text(folder / "summary.csv", summary_csv(rows))
    try:
        page = sweep_report(rows, histories, f"trainkit sweep {folder.name}", folder=str(folder))
        files.write_text(folder / "sweep.html", page)
    except Exception as e:  # the page is a view: the table, the CSV and the sweep's exit status matter more
        log.warning("sweep.html was not written: %s: %s", type(e).__name__, e)


def collect(folder):
    """One dict per job folder under ``folder``, in job order: job, overrides, status (and error),
    epoch (the last one trained), best ({metric, mode, value, epoch}; value None when the job
    has no finite value of it), final ({train_*/val_* key: last value}) and folder."""
    jobs = [d for d in Path(folder).iterdir() if d.is_dir() and (d / ".hydra").is_dir()]
    jobs.sort(key=lambda d: (not d.name.isdigit(), int(d.name) if d.name.isdigit() else 0, d.name))
    rows = []
    for d in jobs:
        row = {"job": d.name, "overrides": _overrides(d)}
        status = _status(d)
        lines = read_metrics(d / "metrics.jsonl")
        meta = _newest_index(d)
        row["status"] = status.get("status", "crashed")
        if status.get("error"):
            row["error"] = status["error"]
        metric, mode = _monitor(d, meta, lines)
        row["best"] = {"metric": metric, "mode": mode, **best_of(lines, metric, mode)}
        if lines:
            row["epoch"] = lines[-1].get("epoch", len(lines))
            row["final"] = final_values(lines)
            if row["status"] == "ok" and not _finished(meta):
                row["status"] = "stopped early"
        elif row["status"] == "ok":
            row["status"] = "ok (no metrics: dry run or nothing to train)"
        row["folder"] = str(d.resolve())
        rows.append(row)
    return rows


def best_of(lines, metric, mode):
    """``{"value", "epoch"}`` of the best finite ``metric`` in ``lines`` (the first epoch on a tie, as the
    Trainer keeps it); both None when there is none."""
    scored = [(r[metric], r.get("epoch", i + 1)) for i, r in enumerate(lines) if _finite(r.get(metric))]
    if not scored:
        return {"value": None, "epoch": None}
    pick = min if mode == "min" else max
    value, epoch = pick(scored, key=lambda ve: ve[0])
    return {"value": value, "epoch": epoch}


def final_values(lines):
    """The last value of every train_*/val_* key, over all lines (a key the last epoch lacks keeps
    its last value; a non-finite one is None, as metrics.jsonl stores it)."""
    out = {}
    for r in lines:
        for k, v in r.items():
            if k.startswith(_SPLITS):
                out[k] = v if _finite(v) else None
    return out


def format_summary(rows):
    """A plain-text table; overrides shared by every job are left out to show what varied. Up to 6
    metric columns; beyond that (regression has 10) only the losses and the monitored metrics."""
    cols = metric_columns(rows)
    if len(cols) > 6:
        keep = {"train_loss", "val_loss"} | {r["best"]["metric"] for r in rows}
        cols = [k for k in cols if k in keep]
    monitors = {r["best"]["metric"] for r in rows}
    one = len(monitors) == 1
    header = ["job", "status", "overrides", "epoch", *cols, f"best {next(iter(monitors))}" if one else "best"]
    name = varied(rows)
    body = []
    for r in rows:
        cells = [r["job"], r["status"].split(" (")[0], name(r), r.get("epoch", "")]
        for k in cols:
            v = (r.get("final") or {}).get(k)
            cells.append("" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v)))
        best = r["best"]
        if best["value"] is None:
            cells.append("-")
        else:
            text = f"{best['value']:.4f}@{best['epoch']}"
            cells.append(text if one else f"{best['metric']}={text}")
        body.append(cells)
    widths = [max(len(str(line[i])) for line in [header] + body) for i in range(len(header))]
    fmt = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(b) for b in body])


# ----- reading a job folder ------------------------------------------------------------------------
def _finite(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _strict(value):
    """``value`` with NaN/inf as None: summary.jsonl stays strict JSON, like metrics.jsonl."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict(v) for v in value]
    return value


def _overrides(job_dir):
    path = job_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    from omegaconf import OmegaConf
    return [str(o) for o in OmegaConf.load(path)]


def _read_json(path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _status(job_dir):
    return _read_json(job_dir / "status.json")


def read_metrics(path):
    """metrics.jsonl's records; a line that is not JSON is skipped with a warning."""
    path = Path(path)
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            log.warning("%s: skipping a line that is not JSON", path)
    return out


def _newest_index(job_dir):
    ckpts = sorted(job_dir.glob("trainer-*.json"))
    return _read_json(ckpts[-1]) if ckpts else {}


def _finished(meta):
    if not meta:
        return False
    return bool(meta.get("complete")) and ((meta.get("epoch") or 0) >= (meta.get("epochs") or 0)
                                            or bool(meta.get("stop_reason")))


def _monitor(job_dir, meta, lines):
    """``(metric, mode)`` the job's Trainer monitors: its checkpoint's, else its config's."""
    from trainkit.callbacks import _mode_for
    best = meta.get("best") or {}
    if best.get("monitor"):
        return best["monitor"], best.get("mode") or _mode_for(best["monitor"], "auto")
    metric, mode = _configured_monitor(job_dir)
    if metric.startswith("val_") and lines and not any(metric in r for r in lines) and \
            any("train_" + metric[4:] in r for r in lines):
        metric = "train_" + metric[4:]  # no validation data: the Trainer follows train_* instead
    try:
        return metric, _mode_for(metric, mode)
    except ValueError:
        return metric, _mode_for(metric, "auto")


def _configured_monitor(job_dir):
    from omegaconf import OmegaConf
    for name in ("config_resolved.yaml", ".hydra/config.yaml"):
        path = job_dir / name
        if not path.is_file():
            continue
        try:
            cfg = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
        except Exception:  # a half-written or hand-edited config: try the next, then the default
            continue
        es = (cfg.get("trainer") or {}).get("early_stopping") or {}
        mode = str(es.get("mode") or "auto")
        if es.get("monitor"):
            return str(es["monitor"]), mode
        task = (cfg.get("task") or {}).get("name")
        if task:
            from trainkit.tasks import TASKS
            t = TASKS.get(str(task))
            if t is not None and t.default_monitor:
                return t.default_monitor, mode
    return "val_loss", "auto"
