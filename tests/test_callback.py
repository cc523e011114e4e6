"""mx.callback: the log lines MXNet 1.9.1 writes (root logger) and the checkpoint callbacks."""
import logging
import os

import numpy as np
import pytest

import trainkit as mx
from trainkit.model import BatchEndParam


@pytest.fixture
def records(caplog):
    caplog.set_level(logging.INFO)
    return caplog


class FakeClock:
    """Stands in for the callback module's ``time`` (logging keeps the real clock)."""

    def __init__(self, *ticks):
        self.ticks = iter(ticks)

    def time(self):
        return next(self.ticks)


def _acc(value_pairs):
    m = mx.metric.Accuracy()
    for label, pred in value_pairs:
        m.update([mx.nd.array(label)], [mx.nd.array(pred)])
    return m


def test_speedometer_logs_mxnet_line_and_resets_the_metric(records, monkeypatch):
    monkeypatch.setattr("trainkit.callback.time", FakeClock(100.0, 102.0, 103.0))
    speed = mx.callback.Speedometer(batch_size=10, frequent=2)
    metric = _acc([([0, 1], [[1, 0], [1, 0]])])
    speed(BatchEndParam(epoch=0, nbatch=0, eval_metric=metric, locals=None))     # starts the clock
    speed(BatchEndParam(epoch=0, nbatch=1, eval_metric=metric, locals=None))
    speed(BatchEndParam(epoch=0, nbatch=2, eval_metric=metric, locals=None))
    assert records.messages == ["Epoch[0] Batch [0-2]\tSpeed: 10.00 samples/sec\taccuracy=0.500000"]
    assert records.records[0].name == "root"
    assert metric.num_inst == 0 and metric.global_num_inst == 2                  # reset_local only


def test_speedometer_without_auto_reset_and_without_metric(records, monkeypatch):
    monkeypatch.setattr("trainkit.callback.time", FakeClock(0.0, 4.0, 4.0, 6.0, 6.0))
    speed = mx.callback.Speedometer(batch_size=4, frequent=1, auto_reset=False)
    metric = _acc([([1], [[0, 1]])])
    speed(BatchEndParam(0, 0, metric, None))
    speed(BatchEndParam(0, 1, metric, None))
    speed(BatchEndParam(0, 2, None, None))
    assert records.messages == ["Epoch[0] Batch [0-1]\tSpeed: 1.00 samples/sec\taccuracy=1.000000",
                                "Iter[0] Batch [2]\tSpeed: 2.00 samples/sec"]


def test_log_train_metric_progress_bar_and_validation_lines(records):
    metric = _acc([([0, 1], [[1, 0], [0, 1]])])
    mx.callback.log_train_metric(period=2, auto_reset=True)(BatchEndParam(3, 4, metric, None))
    assert metric.num_inst == 0
    mx.callback.ProgressBar(total=4, length=8)(BatchEndParam(0, 2, None, None))
    metric = _acc([([0, 1], [[1, 0], [1, 0]])])
    mx.callback.LogValidationMetricsCallback()(BatchEndParam(5, 0, metric, None))
    assert records.messages == ["Iter[3] Batch[4] Train-accuracy=1.000000", "[====----] 50%\r",
                                "Epoch[5] Validation-accuracy=0.500000"]


def test_do_checkpoint_and_module_checkpoint_write_mxnet_files(tmp_path):
    data = mx.sym.Variable("data")
    net = mx.sym.FullyConnected(data, num_hidden=2, name="fc")
    arg = {"fc_weight": mx.nd.ones((2, 3)), "fc_bias": mx.nd.zeros((2,))}
    cb = mx.callback.do_checkpoint(str(tmp_path / "m"), period=2)
    cb(0, net, arg, {})
    assert not os.path.exists(tmp_path / "m-0001.params")
    cb(1, net, arg, {})
    assert os.path.exists(tmp_path / "m-0002.params") and os.path.exists(tmp_path / "m-symbol.json")
    loaded = mx.nd.load(str(tmp_path / "m-0002.params"))
    np.testing.assert_array_equal(loaded["arg:fc_weight"].asnumpy(), np.ones((2, 3)))

    class FakeModule:
        calls = []

        def save_checkpoint(self, prefix, epoch, save_optimizer_states=False):
            self.calls.append((prefix, epoch, save_optimizer_states))
    mod = FakeModule()
    cb = mx.callback.module_checkpoint(mod, "p", period=1, save_optimizer_states=True)
    cb(0)
    cb(1)
    assert mod.calls == [("p", 1, True), ("p", 2, True)]
