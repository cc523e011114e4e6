"""Plain-text summaries of a ``trainkit.Trainer`` run: the model's parameters (``Trainer.model_summary``,
logged when fit starts) and the run's outcome (``Trainer.summary_table``, logged when fit ends with an
out_dir). Both are strings made for a terminal or a log file: fixed-width columns, no colour."""
import math
import time
from pathlib import Path

from .callbacks import _mode_for

__all__ = ["model_summary", "run_summary", "text_table"]


def text_table(headers, rows, right=()):
    """Columns padded to their widest cell; the columns in ``right`` (indices) are right-aligned (numbers)."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


# ----- the model -------------------------------------------------------------------------------------
def model_summary(trainer):
    """The parameter table: layer, parameter, shape, count, initializer; then the totals."""
    rows = trainer.model.summary_rows()
    inits = _initializers(trainer, rows)
    body = []
    for r in rows:
        shape = "x".join(str(d) if d > 0 else "?" for d in r["shape"]) if r["shape"] is not None else "?"
        count = f"{r['count']:,}" if r["count"] is not None else "?"
        body.append([r["layer"], r["name"] + ("" if r["trained"] else " (not trained)"), shape or "scalar", count,
                     inits.get(r["name"]) or "-"])
    known = [r["count"] for r in rows if r["count"] is not None]
    trained = sum(r["count"] for r in rows if r["count"] is not None and r["trained"])
    unknown = len(rows) - len(known)
    total = (f"total: {sum(known):,} values in {len(rows)} arrays ({trained:,} trained)"
             + (f"; {unknown} shapes wait for data" if unknown else ""))
    head = f"model: {type(trainer.module).__name__} ({trainer.model.what}), {len(rows)} parameter arrays"
    if not rows:
        return head + "\ntotal: 0 values"
    return "\n".join([head, text_table(["layer", "parameter", "shape", "count", "initializer (at the start)"], body,
                                       right=(3,)), total])


def _initializers(trainer, rows):
    """``{name: text}``: the parameter's own initializer, else what the Trainer's initializer gives it
    (mx.init.describe follows the same route as initialising: Mixed patterns, ``__init__`` attributes, suffixes)."""
    out = {r["name"]: r["init"] for r in rows if r["init"] is not None}
    init = trainer._planned_initializer()
    if init is None:  # the parameters came with the network (loaded or initialised before fit)
        for r in rows:
            out.setdefault(r["name"], "as given")
        return out
    from . import init_describe
    attrs = trainer.model.attributes()
    attrs = attrs.attr_dict() if attrs is not None and hasattr(attrs, "attr_dict") else None
    for r in rows:
        if r["name"] in out or r["count"] is None:
            continue
        try:
            (row,) = init_describe.describe(init, [(r["name"], r["shape"])], attrs)
            out[r["name"]] = row.init + (f" [pattern {row.pattern}]" if row.pattern else "")
        except Exception:  # a custom initializer describe cannot follow: name it rather than fail the summary
            out[r["name"]] = init.dumps() if hasattr(init, "dumps") else type(init).__name__
    return out


# ----- the run ---------------------------------------------------------------------------------------
def run_summary(trainer):
    """Best and final value of each metric, epochs, wall time, samples/s, the run folder and its files."""
    history = trainer.history
    stats = getattr(trainer, "_run_stats", None) or {}
    lines = []
    done = f"{trainer.epoch} of {trainer.epochs} epochs"
    if trainer.resumed_from:
        done += f" (resumed from {trainer.resumed_from})"
    if trainer.stop_reason:
        done += f"; stopped: {trainer.stop_reason}"
    lines.append(f"run: {done}")
    if stats:
        wall = stats.get("end", time.perf_counter()) - stats["start"]
        speed = stats["samples"] / stats["train_seconds"] if stats.get("train_seconds") else None
        lines.append(f"this fit: {_duration(wall)} wall, {stats['samples']:,} training samples"
                     + (f", {speed:,.0f} samples/s (training batches only)" if speed else ""))
    keys = [k for k in (history[0] if history else {}) if k.startswith(("train_", "val_"))]
    if keys:
        best = trainer.best or {}
        body = []
        for k in keys:
            values = [(h.get(k), h["epoch"]) for h in history if _finite(h.get(k))]
            mode = best.get("mode") if k == best.get("monitor") else _mode_for(k, "auto")
            pick = (max if mode == "max" else min)(values, key=lambda v: v[0]) if values else (None, None)
            mark = "  <- best.params" if k == best.get("monitor") and trainer.out_dir is not None else ""
            body.append([k, mode, _num(pick[0]), pick[1] if pick[1] is not None else "-",
                         _num(history[-1].get(k)) + mark])
        lines += ["", text_table(["metric", "goal", "best", "epoch", "final"], body, right=(2, 3))]
    if trainer.out_dir is not None:
        lines += ["", *_folder(Path(trainer.out_dir))]
    return "\n".join(lines)


def _folder(out):
    files = sorted((f for f in out.iterdir() if f.is_file() and not f.name.startswith(".")), key=lambda f: f.name) \
        if out.is_dir() else []
    sizes = [(f.name, f.stat().st_size) for f in files]
    head = f"run folder: {out.resolve()} ({len(sizes)} files, {_bytes(sum(s for _, s in sizes))})"
    if not sizes:
        return [head]
    return [head, text_table(["file", "size"], [[n, _bytes(s)] for n, s in sizes], right=(1,))]


def _finite(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _num(v):
    if v is None:
        return "-"
    return f"{v:.4f}" if isinstance(v, float) and math.isfinite(v) and abs(v) < 1e5 else f"{v:.4g}"


def _bytes(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def _duration(seconds):
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(int(round(seconds)), 60)
    return f"{minutes // 60}h {minutes % 60:02d}m {s:02d}s" if minutes >= 60 else f"{minutes}m {s:02d}s"

