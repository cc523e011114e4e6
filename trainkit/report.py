"""What a person looks at after (or during) a run: ``metrics.csv`` and ``report.html`` in the run
folder, and ``sweep.html`` for a sweep.

``RunFiles`` (trainkit/callbacks.py) calls ``write_run_files`` at every epoch's end, so a run that
crashes, is killed or diverges still has both files up to its last finished epoch; the files are
rewritten whole through ``trainkit.files`` (never half a page). The pages are self-contained
(trainkit/report_html.py: inline SVG, no JavaScript, no network).

metrics.csv holds the same records as metrics.jsonl, one row per epoch; its columns are the
union of the records' keys in the order they first appear (the metrics differ by task:
val_accuracy, val_auc, val_rmse, ...). A non-finite value is written as ``nan``/``inf`` while the
run holds it, and as an empty cell once it has come back through a checkpoint (strict JSON stores
it as null).

report.html: the status, the best epoch and final values, one chart per metric (train and val
overlaid; the learning rate and the epoch time on their own), the best epoch marked on each, the
parameter table (name, shape, count, initializer) and the run's config. Nothing here imports
Hydra.
"""
import csv
import io
import math
import time
from pathlib import Path

from . import files as _files
from .report_html import color, esc, finite, legend, line_chart, num, page, table

__all__ = ["metrics_csv", "metric_keys", "chart_groups", "run_report", "param_rows", "write_run_files",
           "run_status", "config_text"]

_SPLITS = ("train_", "val_", "test_")
_NOT_METRICS = ("epoch", "non_finite")


# ----- metrics.csv ---------------------------------------------------------------------------------
def metric_keys(history):
    """Every key of the records, in the order they first appear (``epoch`` first)."""
    keys = {}
    for record in history:
        for k in record:
            if k != "non_finite":
                keys.setdefault(k, None)
    return list(keys)


def _csv_cell(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    return str(v)


def metrics_csv(history):
    """The text of metrics.csv for ``history`` (the Trainer's list of epoch records)."""
    keys = metric_keys(history)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(keys)
    for record in history:
        w.writerow([_csv_cell(record.get(k)) for k in keys])
    return buf.getvalue()


# ----- charts ---------------------------------------------------------------------------------------
def _split(key):
    for prefix in _SPLITS:
        if key.startswith(prefix):
            return prefix[:-1], key[len(prefix):]
    return None, key


def chart_groups(keys):
    """``[(title, [key, ...])]``: train_X/val_X share one chart per X (loss first), every other numeric
    key (lr, time, ...) gets a chart of its own."""
    groups, alone = {}, []
    for k in keys:
        if k in _NOT_METRICS:
            continue
        split, base = _split(k)
        if split is None:
            alone.append(k)
        else:
            groups.setdefault(base, []).append(k)
    ordered = sorted(groups.items(), key=lambda kv: kv[0] != "loss")
    titles = {"lr": "learning rate", "time": "seconds per epoch"}
    return [(base, ks) for base, ks in ordered] + [(titles.get(k, k), [k]) for k in alone]


def _series(history, key, i, dashed=False):
    pts = [(r.get("epoch", n + 1), r.get(key)) for n, r in enumerate(history)]
    return key, pts, color(i), dashed


def _numeric(history, key):
    return any(isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool) for r in history) or \
        any(key in (r.get("non_finite") or ()) for r in history)


def _charts(history, best):
    keys = [k for k in metric_keys(history) if _numeric(history, k)]
    marker = (best["epoch"], f"best: epoch {best['epoch']}") if best and best.get("epoch") else None
    boxes = []
    for title, group in chart_groups(keys):
        series = [_series(history, k, i) for i, k in enumerate(group)]
        svg = line_chart(title, series, marker=marker)
        boxes.append(f'<div class="chart-box">{svg}{legend([(s[0], s[2], s[3]) for s in series])}</div>')
    return f'<div class="charts">{"".join(boxes)}</div>' if boxes else "<p>No epoch has finished yet.</p>"


# ----- values, parameters, config --------------------------------------------------------------------
def _lower_is_better(key):
    from .callbacks import _mode_for
    return _mode_for(key, "auto") == "min"


def _values_table(history, best):
    rows = []
    for k in metric_keys(history):
        if k in _NOT_METRICS or not _numeric(history, k):
            continue
        scored = [(r[k], r.get("epoch")) for r in history if finite(r.get(k))]
        final = history[-1].get(k) if history else None
        if k in ("lr", "time") or not scored:
            top = ("", "")
        else:
            pick = min if _lower_is_better(k) else max
            top = pick(scored, key=lambda ve: ve[0])
        mark = " (monitored)" if best and best.get("monitor") == k else ""
        rows.append([k + mark, num(final, 6) if final is not None else "-", num(top[0], 6), top[1]])
    return table(["metric", "final", "best", "best epoch"], rows, numeric=(1, 2, 3))


def param_rows(trainer):
    """``[(name, shape, count, initializer)]`` for the trainer's parameters (after fit has prepared them)."""
    from . import init_describe, initializer as _init
    params = trainer.model.params
    shapes = [(n, tuple(a.shape)) for n, a in params.items()]
    init = trainer.initializer
    if init is None:
        described = {}
        how = "set before training (or Xavier when the network had no values)"
    else:
        how = None
        try:
            attrs = trainer.model.attributes()
            attrs = attrs.attr_dict() if attrs is not None and hasattr(attrs, "attr_dict") else None
            rows = init_describe.describe(init if not isinstance(init, (str, list, tuple)) else _init.create(init),
                                          shapes, attrs)
            described = {r.name: r for r in rows}
        except Exception as e:  # a custom initializer describe cannot follow: say so, keep the page
            described, how = {}, f"(cannot describe: {type(e).__name__})"
    out = []
    for name, shape in shapes:
        r = described.get(name)
        if r is not None:
            text = r.init + (f"  [pattern {r.pattern}]" if r.pattern else "")
        else:
            text = how
        out.append((name, shape, math.prod(shape), text))
    return out


def _params_table(rows):
    if not rows:
        return "<p>No parameters.</p>"
    body = [[n, "x".join(map(str, s)) or "()", f"{c:,}", i] for n, s, c, i in rows]
    total = sum(c for _, _, c, _ in rows)
    body.append(["total", "", f"{total:,}", f"{len(rows)} arrays"])
    return table(["name", "shape", "count", "initializer (at the start)"], body, numeric=(2,), cls="params")


def config_text(config, indent=0):
    """A nested dict/list as YAML-like text (no OmegaConf in the core)."""
    pad = "  " * indent
    lines = []
    if isinstance(config, dict):
        for k, v in config.items():
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{k}:")
                lines.append(config_text(v, indent + 1))
            else:
                lines.append(f"{pad}{k}: {_scalar(v)}")
    elif isinstance(config, list):
        for v in config:
            if isinstance(v, (dict, list)) and v:
                inner = config_text(v, indent + 1).lstrip()
                lines.append(f"{pad}- {inner}")
            else:
                lines.append(f"{pad}- {_scalar(v)}")
    else:
        lines.append(f"{pad}{_scalar(config)}")
    return "\n".join(lines)


def _scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return str(v)


# ----- the run page ----------------------------------------------------------------------------------
def run_status(trainer, exception=None):
    """``(ok, text)``: how the run stands, for the page's heading line."""
    done, total = trainer.epoch, trainer.epochs
    if exception is not None:
        from .stop_signals import Interrupted
        if isinstance(exception, Interrupted):
            return False, f"interrupted after epoch {done} of {total} (checkpoint {exception.checkpoint})"
        what = trainer.stop_reason if (trainer.stop_reason or "").startswith("diverged") else \
            f"{type(exception).__name__}: {exception}"
        return False, f"stopped in epoch {done + 1} of {total}: {what}"
    if trainer.stop_training and done < total:
        return True, f"stopped early after epoch {done} of {total}: {trainer.stop_reason}"
    if done >= total:
        return True, f"finished: {done} of {total} epochs"
    return True, f"running: epoch {done} of {total} done"


def run_report(history, title, status=(True, ""), best=None, params=(), config=None, folder=None):
    """The report.html text. ``best`` is Trainer.best; ``params`` param_rows(); ``config`` a plain dict."""
    ok, text = status
    parts = [f"<h1>{esc(title)}</h1>",
             f'<p class="sub"><span class="{"status-ok" if ok else "status-bad"}">{esc(text)}</span>'
             + (f" &middot; {esc(folder)}" if folder else "")
             + f" &middot; updated {esc(time.strftime('%Y-%m-%d %H:%M:%S'))}</p>"]
    if best and best.get("value") is not None:
        parts.append(f"<p>Best {esc(best['monitor'])} = <b>{esc(num(best['value'], 6))}</b> at epoch "
                     f"{esc(best['epoch'])} ({esc(best.get('mode', ''))}; best.params holds that epoch).</p>")
    parts += ["<h2>Curves</h2>", _charts(history, best), "<h2>Final and best values</h2>",
              _values_table(history, best) if history else "<p>No epoch has finished yet.</p>",
              "<h2>Parameters</h2>", _params_table(list(params))]
    if config:
        parts += ["<h2>Config</h2>", f'<pre class="config">{esc(config_text(config))}</pre>']
    return page(title, "\n".join(parts))


def write_run_files(trainer, params, exception=None, csv_too=True):
    """metrics.csv (with ``csv_too``) and report.html in ``trainer.out_dir``, each whole; ``params`` is
    ``param_rows(trainer)`` (the caller keeps it: shapes and initializers do not change during a fit)."""
    out = Path(trainer.out_dir)
    if csv_too:
        # rewritten every epoch like metrics.jsonl: atomic, not fsync'ed (a resume rewrites it)
        _files.write_text(out / "metrics.csv", metrics_csv(trainer.history), durable=False)
    html_text = run_report(trainer.history, f"trainkit run {out.name}", run_status(trainer, exception),
                           trainer.best, params, trainer.config, folder=str(out))
    _files.write_text(out / "report.html", html_text, durable=False)
