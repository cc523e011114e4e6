"""metrics.csv and report.html (trainkit/report.py): written by every run with an out_dir."""
import csv
import math
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest

import trainkit as mx
from trainkit.report import chart_groups, metrics_csv, run_report
from trainkit.trainer import Trainer


class Paths(HTMLParser):
    def __init__(self):
        super().__init__()
        self.curves, self.rows, self.scripts, self.text = {}, 0, 0, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "path" and a.get("class") == "curve":
            d = a["d"]
            assert int(a["data-points"]) == d.count("M") + d.count("L")
            self.curves.setdefault(a["data-series"], []).append(int(a["data-points"]))
        self.scripts += tag == "script"

    def handle_data(self, data):
        self.text.append(data)


def small_run(tmp_path, epochs=4):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6)).astype("float32")
    y = (X[:, 0] > 0).astype("int64")
    x = mx.sym.Variable("data")
    net = mx.sym.FullyConnected(mx.sym.Activation(mx.sym.FullyConnected(x, num_hidden=8, name="fc1"),
                                                  act_type="relu"), num_hidden=2, name="fc2")
    t = Trainer(net, train_data=(X[:90], y[:90]), val_data=(X[90:], y[90:]), epochs=epochs, out_dir=tmp_path / "run",
                optimizer_params={"learning_rate": 0.1}, config={"model": {"name": "<b>mlp & ü</b>"}, "seed": 0})
    t.fit()
    return t, tmp_path / "run"


def test_run_writes_metrics_csv_and_report(tmp_path):
    t, run = small_run(tmp_path)
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert float(rows[-1]["val_loss"]) == pytest.approx(t.history[-1]["val_loss"])
    page = (run / "report.html").read_text()
    p = Paths()
    p.feed(page)
    assert p.scripts == 0 and "http" not in page.replace("http://www.w3.org/2000/svg", "")
    assert p.curves["train_loss"] == [4] and p.curves["val_accuracy"] == [4] and p.curves["lr"] == [4]
    assert "&lt;b&gt;mlp &amp; ü&lt;/b&gt;" in page and "<b>mlp" not in page
    text = "".join(p.text)
    assert "fc1_weight" in text and "8x6" in text and "finished: 4 of 4 epochs" in text


def test_non_finite_values_are_gaps_and_csv_keeps_them():
    hist = [{"epoch": 1, "train_loss": 1.0}, {"epoch": 2, "train_loss": float("nan")},
            {"epoch": 3, "train_loss": 0.5, "val_rmse": 2.0}]
    text = metrics_csv(hist)
    assert text.splitlines() == ["epoch,train_loss,val_rmse", "1,1.0,", "2,nan,", "3,0.5,2.0"]
    p = Paths()
    p.feed(run_report(hist, "t"))
    assert p.curves["train_loss"] == [2] and p.curves["val_rmse"] == [1]
    assert chart_groups(["epoch", "train_loss", "val_loss", "val_auc", "lr"]) == [
        ("loss", ["train_loss", "val_loss"]), ("auc", ["val_auc"]), ("learning rate", ["lr"])]


def test_axis_ticks_land_on_round_values():
    import re
    from trainkit.report_html import _ticks, line_chart
    # 1 + 5 * 0.2 is 2.0, so a 2-epoch chart labels both epochs (summing 0.2 five times gives 1.9999999999999998)
    assert _ticks(1, 2, 8) == [1.0, 1.2, 1.4, 1.6, 1.8, 2.0]
    svg = line_chart("t", [("a", [(1, 0.5), (2, 0.7)], "#000", False)])
    assert re.findall(r'class="tick" x="[^"]*" y="2\d\d[^"]*" text-anchor="middle">([^<]*)<', svg) == ["1", "2"]
    assert _ticks(1e-9, 3e-9) == [1e-09, 1.5e-09, 2e-09, 2.5e-09, 3e-09] and _ticks(-0.3, 0.3) == [-0.2, 0.0, 0.2]


def test_report_renders_in_a_headless_browser(tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no headless browser: install chromium to run this check")
    _, run = small_run(tmp_path, epochs=2)
    shot = tmp_path / "shot.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    subprocess.run([browser, *flags, "--window-size=1200,1400", f"--screenshot={shot}",
                    (run / "report.html").as_uri()], capture_output=True, timeout=60)
    assert shot.is_file() and shot.stat().st_size > 10000
    dom = subprocess.run([browser, *flags, "--dump-dom", (run / "report.html").as_uri()], capture_output=True,
                         text=True, timeout=60).stdout
    assert dom.count('class="curve"') >= 6 and "fc2_bias" in dom
