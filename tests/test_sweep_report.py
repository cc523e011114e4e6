"""summary.csv and sweep.html (trainkit/report_sweep.py), written at the end of every sweep: through the
real command line for classification (with a diverging job) and regression, and from hand-made job
folders for what real sweeps make slow to reach (partial curves, jobs whose metrics differ)."""
import csv
import json
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from test_cli import metrics, trainkit
from trainkit.app.sweep import collect, read_metrics
from trainkit.report_sweep import ranked, summary_csv, sweep_report

TINY = ["data=synthetic", "data.n_samples=100", "trainer.epochs=2", "model.hidden=[8]"]


class Page(HTMLParser):
    """The parts of sweep.html the tests read: job rows in order, each chart's curves, scripts, text."""

    def __init__(self):
        super().__init__()
        self.jobs, self.charts, self.scripts, self.text, self.links = [], {}, 0, [], []
        self._chart = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-job" in a:
            self.jobs.append((a["data-job"], a.get("class")))
        if tag == "div" and a.get("class") == "chart-box":
            self._chart = self.charts.setdefault(a["data-metric"], {})
        if tag == "path" and a.get("class") == "curve":
            assert int(a["data-points"]) == a["d"].count("M") + a["d"].count("L")
            self._chart[a["data-series"]] = (int(a["data-points"]), "stroke-dasharray" in a)
        if tag == "a":
            self.links.append(a["href"])
        self.scripts += tag == "script"

    def handle_data(self, data):
        self.text.append(data)


def read_page(path):
    text = path.read_text()
    p = Page()
    p.feed(text)
    assert p.scripts == 0 and "http" not in text.replace("http://www.w3.org/2000/svg", "")
    return p, text


def test_a_classification_sweep_writes_summary_csv_and_sweep_html(tmp_path):
    # lr=1e6 diverges in its first epoch: no metrics, listed with its status and message
    r = trainkit(tmp_path, "-m", *TINY, "optimizer.lr=0.02,0.3,1000000.0", "hydra.sweep.dir=sweep")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    folder = tmp_path / "sweep"
    assert "(also in sweep/summary.csv; curves in sweep/sweep.html)" in r.stdout
    rows = list(csv.DictReader((folder / "summary.csv").open()))
    assert [x["job"] for x in rows] == ["0", "1", "2"]
    assert list(rows[0])[:8] == ["job", "overrides", "status", "epochs", "monitor", "mode", "best", "best_epoch"]
    assert list(rows[0])[8:] == ["train_loss", "train_accuracy", "val_loss", "val_accuracy", "folder", "error"]
    for row, lr in zip(rows[:2], ("0.02", "0.3")):
        lines = metrics(folder / row["job"])
        best = max(lines, key=lambda m: m["val_accuracy"])
        assert row["overrides"] == " ".join(TINY + [f"optimizer.lr={lr}"]) and row["status"] == "ok"
        assert (row["epochs"], row["monitor"], row["mode"]) == ("2", "val_accuracy", "max")
        assert float(row["best"]) == best["val_accuracy"] and int(row["best_epoch"]) == best["epoch"]
        assert float(row["train_loss"]) == lines[-1]["train_loss"] and float(row["val_loss"]) == lines[-1]["val_loss"]
        assert row["folder"] == str((folder / row["job"]).resolve()) and row["error"] == ""
    bad = rows[2]
    assert bad["status"] == "diverged" and bad["epochs"] == "" and bad["best"] == "" and bad["train_loss"] == ""
    assert bad["error"].startswith("trainkit: diverged: training diverged")

    page, text = read_page(folder / "sweep.html")
    ok = sorted(rows[:2], key=lambda x: (-float(x["best"]), int(x["best_epoch"])))  # higher val_accuracy first
    assert page.jobs == [(ok[0]["job"], None), (ok[1]["job"], None), ("2", "bad")]
    assert set(page.charts) == {"val_accuracy", "train_loss", "val_loss", "train_accuracy"}
    assert text.index('data-metric="train_loss"') < text.index("More curves") < text.index('data-metric="val_loss"')
    for key in ("val_accuracy", "train_loss"):  # one line per job that finished an epoch, 2 points each
        assert page.charts[key] == {"job 0: optimizer.lr=0.02": (2, False), "job 1: optimizer.lr=0.3": (2, False)}
    words = "".join(page.text)
    assert "Jobs that did not finish" in words and "training diverged" in words
    assert f"Best: job {ok[0]['job']}" in words and "higher is better" in words
    assert "Every job: data=synthetic data.n_samples=100 trainer.epochs=2 model.hidden=[8]" in words
    # the diverged job's report.html says how it stopped, so it is linked too
    assert sorted(page.links) == ["0/report.html", "1/report.html", "2/report.html"]
    summary = [json.loads(line) for line in (folder / "summary.jsonl").read_text().splitlines()]
    assert [s["best"]["metric"] for s in summary] == ["val_accuracy"] * 3


def test_a_regression_sweep_ranks_by_the_lowest_val_rmse(tmp_path):
    r = trainkit(tmp_path, "-m", "+recipe=diabetes", "trainer.epochs=2", "optimizer.lr=0.001,0.01",
                 "hydra.sweep.dir=sweep")
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "sweep"
    rows = list(csv.DictReader((folder / "summary.csv").open()))
    assert [(x["monitor"], x["mode"]) for x in rows] == [("val_rmse", "min")] * 2
    assert {"train_mse", "train_r2", "val_mae", "val_rmse", "val_r2"} <= set(rows[0])
    for row in rows:
        lines = metrics(folder / row["job"])
        assert float(row["best"]) == min(m["val_rmse"] for m in lines)
    page, text = read_page(folder / "sweep.html")
    jobs_table = text[text.index('<table class="jobs"'):text.index("</table>")]
    assert "val_rmse" in jobs_table and "val_mae" not in jobs_table  # 10 metrics: the table keeps 3
    assert "final value is in summary.csv" in text
    order = sorted(rows, key=lambda x: float(x["best"]))
    assert [j for j, _ in page.jobs] == [x["job"] for x in order] and order[0]["job"] == "1"  # lr=0.01 learns faster
    assert set(page.charts["val_rmse"]) == {"job 0: optimizer.lr=0.001", "job 1: optimizer.lr=0.01"}
    assert "val_r2" in page.charts and "lower is better" in "".join(page.text)
    # the printed table keeps to the losses and the monitor when a task has many metrics
    head = next(line for line in r.stdout.splitlines() if line.startswith("job "))
    assert head.split() == ["job", "status", "overrides", "epoch", "train_loss", "val_loss", "val_rmse", "best",
                            "val_rmse"]


# ----- hand-made job folders ------------------------------------------------------------------------
def job(folder, name, overrides, status, lines, monitor=None, mode="auto", task="classification"):
    d = folder / name
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra/overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    (d / ".hydra/config.yaml").write_text(
        f"task:\n  name: {task}\ntrainer:\n  early_stopping:\n    monitor: {monitor or 'null'}\n    mode: {mode}\n")
    if status is not None:
        (d / "status.json").write_text(json.dumps({"status": status, "error": None if status == "ok" else
                                                   f"<{status}> & why"}))
    if lines is not None:
        (d / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return d


def test_partial_curves_mixed_metrics_and_escaping(tmp_path):
    acc = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.2 / e, "val_accuracy": a}
           for e, a in ((1, 0.5), (2, 0.7), (3, 0.7))]
    job(tmp_path, "0", ["optimizer.lr=0.1"], "ok", acc)
    # interrupted in epoch 3; epoch 2's val_loss was NaN (metrics.jsonl stores null and lists it)
    part = [{"epoch": 1, "train_loss": 0.9, "val_loss": 1.0, "val_accuracy": 0.8},
            {"epoch": 2, "train_loss": 0.8, "val_loss": None, "val_accuracy": 0.6, "non_finite": ["val_loss"]}]
    job(tmp_path, "1", ["optimizer.lr=<0.2>"], "interrupted", part)
    # a regression job in the same sweep: its own monitor, ranked after the sweep's
    job(tmp_path, "2", ["task=regression"], "ok", [{"epoch": 1, "train_loss": 4.0, "val_rmse": 2.0}], task="regression")
    job(tmp_path, "3", ["optimizer.lr=0.3"], None, None)  # killed before it wrote anything
    rows = collect(tmp_path)
    assert [r["status"] for r in rows] == ["stopped early", "interrupted", "stopped early", "crashed"]
    assert rows[0]["best"] == {"metric": "val_accuracy", "mode": "max", "value": 0.7, "epoch": 2}  # first on a tie
    assert rows[1]["best"]["value"] == 0.8 and rows[1]["final"]["val_loss"] is None
    assert rows[2]["best"] == {"metric": "val_rmse", "mode": "min", "value": 2.0, "epoch": 1}
    assert [r["job"] for r in ranked(rows)] == ["1", "0", "2", "3"]

    text = summary_csv(rows)
    table = list(csv.reader(text.splitlines()))
    assert table[0][8:-2] == ["train_loss", "val_loss", "val_accuracy", "val_rmse"]
    assert table[2][8:11] == ["0.8", "", "0.6"] and table[3][6] == "2.0" and table[3][11] == "2.0"
    assert table[4][2:8] == ["crashed", "", "val_accuracy", "max", "", ""]  # its config's task default
    assert table[2][-1] == "<interrupted> & why"

    html = sweep_report(rows, {r["job"]: read_metrics(tmp_path / r["job"] / "metrics.jsonl") for r in rows}, "t <&>")
    p = Page()
    p.feed(html)
    assert "&lt;0.2&gt;" in html and "<0.2>" not in html and "&lt;interrupted&gt; &amp; why" in html
    assert [j for j, _ in p.jobs] == ["1", "0", "2", "3"]
    assert "<td class=num>-</td><td>2</td>" in html and "<td class=num>val_rmse: 2</td>" in html  # ranked apart
    name1 = "job 1: optimizer.lr=<0.2> (interrupted)"
    assert p.charts["val_accuracy"] == {"job 0: optimizer.lr=0.1": (3, False), name1: (2, True)}
    assert p.charts["val_rmse"] == {"job 2: task=regression": (1, False)}
    assert p.charts["val_loss"][name1] == (1, True)  # the NaN epoch is a gap
    assert set(p.charts["train_loss"]) == {"job 0: optimizer.lr=0.1", name1, "job 2: task=regression"}


def test_ranking_follows_the_monitors_mode_and_breaks_ties_by_the_earlier_epoch():
    def row(job, metric, mode, value, epoch):
        return {"job": job, "overrides": [f"x={job}"], "status": "ok",
                "best": {"metric": metric, "mode": mode, "value": value, "epoch": epoch}}
    rows = [row("0", "val_rmse", "min", 3.0, 2), row("1", "val_rmse", "min", 1.0, 5),
            row("2", "val_rmse", "min", 1.0, 3), row("3", "val_rmse", "min", None, None),
            row("4", "val_mae", "min", 0.1, 1), row("5", "val_rmse", "min", 2.0, 1)]
    assert [r["job"] for r in ranked(rows)] == ["2", "1", "5", "0", "3", "4"]
    for r in rows:
        r["best"]["mode"] = "max"
    assert [r["job"] for r in ranked(rows)] == ["0", "5", "2", "1", "3", "4"]


def test_sweep_html_renders_in_a_headless_browser(tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no headless browser: install chromium to run this check")
    r = trainkit(tmp_path, "-m", *TINY, "optimizer.lr=0.02,0.3", "hydra.sweep.dir=sweep")
    assert r.returncode == 0, r.stderr
    page = tmp_path / "sweep/sweep.html"
    shot = tmp_path / "shot.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    subprocess.run([browser, *flags, "--window-size=1200,1400", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=60)
    assert shot.is_file() and shot.stat().st_size > 10000
    dom = subprocess.run([browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=60).stdout
    assert dom.count('class="curve"') >= 4 and "optimizer.lr=0.3" in dom
