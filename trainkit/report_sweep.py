"""What a person looks at after a sweep: ``summary.csv`` and ``sweep.html`` in the sweep folder.

trainkit/app/sweep.py reads the job folders into rows (one dict per job: job, overrides,
status, error, epoch, best = {metric, mode, value, epoch}, final = {train_*/val_*: last value},
folder) and calls ``summary_csv`` and ``sweep_report`` on them; nothing here imports Hydra.

The sweep is ranked by one metric: the monitor most of its jobs share (they all share it unless
the sweep varies the task or trainer.early_stopping.monitor), minimised or maximised as the
Trainer does it (trainkit/callbacks.py ``_mode_for``: losses and errors down, the rest up); on a
tie the job whose best epoch came first ranks higher. Jobs with no value of it (failed before an
epoch, or monitoring something else) come after the ranked ones, in job order. summary.csv keeps
job order, so scripts can rely on it.

sweep.html is self-contained like report.html (inline SVG from trainkit/report_html.py, no
JavaScript, no network): the ranked table with a link to each job's report.html, the jobs that
did not finish with their message, and one chart per monitored metric and one of train_loss
with one line per job (dashed for a job that did not finish ok; its partial curve is its
finished epochs). Every other metric's chart is under "More curves".
"""
import csv
import io
import time
from collections import Counter
from pathlib import Path

from .report import _csv_cell
from .report_html import color, esc, finite, legend, line_chart, num, page

__all__ = ["metric_columns", "varied", "sweep_monitor", "ranked", "summary_csv", "sweep_report"]


def _ok(row):
    return row["status"].startswith("ok") or row["status"] == "stopped early"


def metric_columns(rows):
    """Every train_*/val_* key any job has, train_ first, loss first within each split."""
    keys = {}
    for r in rows:
        for k in r.get("final") or {}:
            keys.setdefault(k, None)
    return sorted(keys, key=lambda k: (not k.startswith("train_"), not k.endswith("_loss")))


def varied(rows):
    """``row -> text``: the overrides that differ between jobs (all of them for a single job)."""
    shared = set.intersection(*(set(r["overrides"]) for r in rows)) if len(rows) > 1 else set()
    return lambda r: " ".join(o for o in r["overrides"] if o not in shared) or "-"


def sweep_monitor(rows):
    """``(metric, mode)`` the sweep is ranked by: the monitor most jobs share (the first job's on a tie)."""
    metrics = [r["best"]["metric"] for r in rows if (r.get("best") or {}).get("metric")]
    if not metrics:
        return None, None
    counts = Counter(metrics)
    most = max(counts.values())
    metric = next(m for m in metrics if counts[m] == most)
    mode = next(r["best"]["mode"] for r in rows if (r.get("best") or {}).get("metric") == metric)
    return metric, mode


def ranked(rows):
    """``rows`` best first by the sweep's monitor (on a tie the earlier best epoch first), then the unranked ones."""
    metric, mode = sweep_monitor(rows)
    scored = [r for r in rows if (r.get("best") or {}).get("metric") == metric and finite(r["best"].get("value"))]
    sign = 1 if mode == "min" else -1
    # a tie goes to the job that got there in fewer epochs, then (sorted() is stable) to job order
    order = sorted(scored, key=lambda r: (sign * r["best"]["value"], r["best"].get("epoch") or 0))
    placed = {id(r) for r in order}
    return order + [r for r in rows if id(r) not in placed]


# ----- summary.csv -----------------------------------------------------------------------------------
def summary_csv(rows):
    """The text of summary.csv: one row per job in job order; overrides space-separated, every
    train_*/val_* metric's final value (empty where a job has none), the run folder last."""
    cols = metric_columns(rows)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["job", "overrides", "status", "epochs", "monitor", "mode", "best", "best_epoch", *cols, "folder",
                "error"])
    for r in rows:
        best, final = r.get("best") or {}, r.get("final") or {}
        w.writerow([r["job"], " ".join(r["overrides"]), r["status"], _csv_cell(r.get("epoch")),
                    best.get("metric") or "", best.get("mode") or "", _csv_cell(best.get("value")),
                    _csv_cell(best.get("epoch")), *[_csv_cell(final.get(k)) for k in cols], r.get("folder", ""),
                    r.get("error") or ""])
    return buf.getvalue()


# ----- sweep.html ------------------------------------------------------------------------------------
def _jobs_table(order, name, metric, cols):
    head = ["rank", "job", "status", "overrides", "epochs", f"best {metric}", "best epoch", *cols, "report"]
    numeric = {0, 4, 5, 6, *range(7, 7 + len(cols))}
    cells_head = "".join(f"<th{' class=num' if i in numeric else ''}>{esc(h)}</th>" for i, h in enumerate(head))
    body, rank = [], 0
    for r in order:
        best, final = r.get("best") or {}, r.get("final") or {}
        scored = best.get("metric") == metric and finite(best.get("value"))
        rank += scored
        if scored:
            best_cells = [num(best["value"], 6), best.get("epoch")]
        elif finite(best.get("value")):  # ranked apart: its own monitor, named
            best_cells = [f"{best['metric']}: {num(best['value'], 6)}", best.get("epoch")]
        else:
            best_cells = ["-", "-"]
        values = [rank if scored else "-", r["job"], r["status"], name(r), r.get("epoch", ""), *best_cells,
                  *[num(final.get(k), 6) if k in final else "" for k in cols]]
        tds = "".join(f"<td{' class=num' if i in numeric else ''}>{esc(v)}</td>" for i, v in enumerate(values))
        # a link relative to sweep.html, so it still works from a copied sweep folder
        has = r.get("folder") and Path(r["folder"], "report.html").is_file()
        link = f'<td><a href="{esc(r["job"])}/report.html">report</a></td>' if has else "<td></td>"
        cls = "" if _ok(r) else ' class="bad"'
        body.append(f'<tr{cls} data-job="{esc(r["job"])}">{tds}{link}</tr>')
    return (f'<div class="wide"><table class="jobs"><thead><tr>{cells_head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _table_columns(rows):
    """The jobs table's metric columns: all of them up to 8; beyond (regression has 10 a job, a sweep of
    several tasks more) the losses and every job's monitor, the rest being in summary.csv."""
    cols = metric_columns(rows)
    if len(cols) <= 8:
        return cols
    keep = {"train_loss", "val_loss"} | {(r.get("best") or {}).get("metric") for r in rows}
    return [k for k in cols if k in keep]


def _chart(title, key, rows, histories, name):
    series = []
    for i, r in enumerate(rows):  # colour by job order, so one job has one colour on every chart
        h = histories.get(r["job"]) or []
        if not any(key in rec for rec in h):
            continue
        label = f"job {r['job']}: {name(r)}" + ("" if _ok(r) else f" ({r['status']})")
        series.append((label, [(rec.get("epoch", n + 1), rec.get(key)) for n, rec in enumerate(h)], color(i),
                       not _ok(r)))
    if not series:
        return ""
    return (f'<div class="chart-box" data-metric="{esc(key)}">{line_chart(title, series)}'
            f'{legend([(s[0], s[2], s[3]) for s in series])}</div>')


def _curves(rows, histories, name, metric):
    monitors = [metric] + [m for m in dict.fromkeys((r.get("best") or {}).get("metric") for r in rows)
                           if m and m != metric]
    main = [(f"{m} (monitored)", m) for m in monitors if m] + \
           ([("train_loss", "train_loss")] if "train_loss" not in monitors else [])
    boxes = [_chart(t, k, rows, histories, name) for t, k in main]
    if not any(boxes):
        return "<p>No job finished an epoch.</p>"
    shown = {k for _, k in main}
    rest = [k for k in metric_columns(rows) if k not in shown]
    more = [_chart(k, k, rows, histories, name) for k in rest]
    out = f'<div class="charts">{"".join(boxes)}</div>'
    if any(more):
        out += f'<details><summary>More curves</summary><div class="charts">{"".join(more)}</div></details>'
    return out


def sweep_report(rows, histories, title, folder=None):
    """The sweep.html text. ``rows`` as app/sweep.py's collect gives them; ``histories``: job ->
    its metrics.jsonl records."""
    name = varied(rows)
    metric, mode = sweep_monitor(rows)
    order = ranked(rows)
    bad = [r for r in rows if not _ok(r)]
    shared = [o for o in rows[0]["overrides"] if all(o in r["overrides"] for r in rows)] if len(rows) > 1 else []
    parts = [f"<h1>{esc(title)}</h1>",
             f'<p class="sub">{len(rows)} jobs: {len(rows) - len(bad)} finished'
             + (f', <span class="status-bad">{len(bad)} did not</span>' if bad else "")
             + (f" &middot; {esc(folder)}" if folder else "")
             + f" &middot; written {esc(time.strftime('%Y-%m-%d %H:%M:%S'))}</p>"]
    if shared:
        parts.append(f"<p>Every job: <code>{esc(' '.join(shared))}</code></p>")
    top = order[0] if order else None
    if top is not None and (top.get("best") or {}).get("metric") == metric and finite(top["best"].get("value")):
        parts.append(f"<p>Best: <b>job {esc(top['job'])}</b> (<code>{esc(name(top))}</code>), {esc(metric)} = "
                     f"<b>{esc(num(top['best']['value'], 6))}</b> at epoch {esc(top['best']['epoch'])} "
                     f"(ranked by {esc(metric)}, {'lower' if mode == 'min' else 'higher'} is better).</p>")
    parts += ["<h2>Jobs</h2>", _jobs_table(order, name, metric, _table_columns(rows))]
    if _table_columns(rows) != metric_columns(rows):
        parts.append('<p class="sub">Every metric\'s final value is in summary.csv.</p>')
    if bad:
        body = "".join(f"<tr><td>{esc(r['job'])}</td><td>{esc(r['status'])}</td><td>{esc(name(r))}</td>"
                       f"<td>{esc(r.get('error') or '(no message)')}</td></tr>" for r in bad)
        parts += ["<h2>Jobs that did not finish</h2>",
                  '<table class="failed"><thead><tr><th>job</th><th>status</th><th>overrides</th><th>message</th>'
                  f"</tr></thead><tbody>{body}</tbody></table>"]
    parts += ["<h2>Curves (one line per job)</h2>", _curves(rows, histories, name, metric)]
    return page(title, "\n".join(parts))
