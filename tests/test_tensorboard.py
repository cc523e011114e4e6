"""TensorBoardLogger (trainkit/tensorboard.py): event files read back by a reader written here from the
format's description (TFRecord frames, the Event protobuf), and by TensorBoard itself when installed."""
import re
import socket
import struct

import numpy as np
import pytest

import trainkit as mx
from trainkit.callbacks import Callback
from trainkit.checkpoint import TrainerError
from trainkit.tensorboard import TensorBoardLogger, crc32c, masked_crc32c
from trainkit.trainer import Trainer


# ----- a reader, independent of the writer's encoder ------------------------------------------------------
def _mask(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(buf, i):
    shift = n = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def _fields(buf):
    """``[(field, value)]`` of a protobuf message: varints as ints, fixed64 and fixed32 as raw bytes."""
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise AssertionError(f"wire type {wire} is not used by Event")
        out.append((field, value))
    return out


def read_events(path):
    """Every event of an event file as ``{"wall_time", "step", "file_version", "scalars": {tag: value}}``,
    checking both CRCs of every frame."""
    data = path.read_bytes()
    events, i = [], 0
    while i < len(data):
        head = data[i:i + 8]
        (length,) = struct.unpack("<Q", head)
        assert struct.unpack("<I", data[i + 8:i + 12])[0] == _mask(crc32c(head)), f"length crc at byte {i}"
        body = data[i + 12:i + 12 + length]
        assert struct.unpack("<I", data[i + 12 + length:i + 16 + length])[0] == _mask(crc32c(body)), \
            f"data crc at byte {i}"
        i += 16 + length
        event = {"scalars": {}}
        for field, value in _fields(body):
            if field == 1:
                event["wall_time"] = struct.unpack("<d", value)[0]
            elif field == 2:
                event["step"] = value
            elif field == 3:
                event["file_version"] = value.decode()
            elif field == 5:
                for f, v in _fields(value):
                    assert f == 1
                    parts = dict(_fields(v))
                    event["scalars"][parts[1].decode()] = struct.unpack("<f", parts[2])[0]
        events.append(event)
    return events


# ----- runs -----------------------------------------------------------------------------------------------
class Losses(Callback):
    def __init__(self):
        self.losses = []

    def on_batch_end(self, trainer, epoch, batch, loss, **kwargs):
        self.losses.append(loss)


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 6)).astype("float32")
    return X, (X[:, 0] > 0).astype("int64")


def trainer(epochs, callbacks, out_dir=None, **kw):
    X, y = data()
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=2, name="fc")
    # 80 samples in batches of 16: 5 batches an epoch
    return Trainer(net, train_data=(X[:80], y[:80]), val_data=(X[80:], y[80:]), epochs=epochs, batch_size=16,
                   out_dir=out_dir, optimizer_params={"learning_rate": 0.1}, callbacks=callbacks, **kw)


def event_files(folder):
    return sorted(folder.iterdir(), key=lambda p: p.name)


def test_crc32c_known_values():
    # RFC 3720 (iSCSI) B.4 vectors, and the check value of the CRC-32C catalogue entry
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E
    assert crc32c(b"456789", crc32c(b"123")) == 0xE3069283  # continues a running crc
    assert masked_crc32c(b"123456789") == ((0xE3069283 >> 15 | 0xE3069283 << 17) + 0xA282EAD8) % 2 ** 32


def test_epoch_scalars_and_batch_losses_read_back(tmp_path):
    seen = Losses()
    t = trainer(3, [TensorBoardLogger(every_n_batches=2), seen], out_dir=tmp_path / "run")
    t.fit()
    (path,) = event_files(tmp_path / "run/tensorboard")
    assert re.fullmatch(rf"events\.out\.tfevents\.\d{{10}}\.{re.escape(socket.gethostname())}", path.name)
    events = read_events(path)
    assert events[0]["file_version"] == "brain.Event:2" and events[0]["step"] == 0 and not events[0]["scalars"]
    epochs = [e for e in events[1:] if "train_loss" in e["scalars"]]
    assert [e["step"] for e in epochs] == [1, 2, 3]
    for e, logs in zip(epochs, t.history):
        assert set(e["scalars"]) == {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "time"}
        for k, v in e["scalars"].items():
            assert v == pytest.approx(logs[k], rel=1e-6)  # stored as float32
    batches = [e for e in events[1:] if "train/batch_loss" in e["scalars"]]
    assert len(seen.losses) == 15
    assert [e["step"] for e in batches] == [1, 3, 5, 7, 9, 11, 13]  # every 2nd batch, counted over epochs
    assert [e["scalars"]["train/batch_loss"] for e in batches] == pytest.approx(seen.losses[1::2], rel=1e-6)
    assert all(e["wall_time"] > 1.6e9 for e in events)


def test_without_batches_only_epochs_and_an_explicit_log_dir_needs_no_out_dir(tmp_path):
    trainer(2, [TensorBoardLogger(log_dir=tmp_path / "tb")]).fit()
    (path,) = event_files(tmp_path / "tb")
    events = read_events(path)
    assert [e["step"] for e in events] == [0, 1, 2]
    assert all("train/batch_loss" not in e["scalars"] for e in events)


def test_two_writers_in_one_second_get_two_files(tmp_path, monkeypatch):
    import trainkit.tensorboard as tb
    monkeypatch.setattr(tb.time, "time", lambda: 1800000000.25)
    a, b = tb.EventWriter(tmp_path), tb.EventWriter(tmp_path)
    a.add_scalar("x", 1.0, 1)
    a.close(), b.close()
    host = socket.gethostname()
    assert (a.path.name, b.path.name) == (f"events.out.tfevents.1800000000.{host}",
                                          f"events.out.tfevents.1800000000.{host}.1")
    assert [e["step"] for e in read_events(a.path)] == [0, 1] and [e["step"] for e in read_events(b.path)] == [0]
    assert read_events(a.path)[1]["wall_time"] == 1800000000.25


def test_drop_events_after_a_mid_epoch_checkpoint(tmp_path):
    import trainkit.tensorboard as tb
    w = tb.EventWriter(tmp_path)
    for epoch in range(1, 5):  # 5 batches an epoch
        for b in range(5):
            w.add_scalar("train/batch_loss", float(b), (epoch - 1) * 5 + b)
        w.add_scalars([("val_loss", float(epoch)), ("lr", 0.1)], epoch)
    w.close()
    # a checkpoint inside epoch 3 with 3 batches done: epochs 1-2 and batches 0-12 stay
    assert tb.drop_events_after(tmp_path, 2, batch=13) == {w.path.name: 7 + 2}
    events = read_events(w.path)
    assert [e["step"] for e in events if "val_loss" in e["scalars"]] == [1, 2]
    assert [e["step"] for e in events if "train/batch_loss" in e["scalars"]] == list(range(13))
    assert events[0]["file_version"] == "brain.Event:2"
    assert tb.drop_events_after(tmp_path, 2, batch=13) == {}  # nothing left to drop: not rewritten
    assert tb.read_events(w.path) == events  # trainkit's reader agrees with this file's


def test_no_folder_is_a_clear_error():
    with pytest.raises(TrainerError, match=r"no out_dir and log_dir is None. Pass TensorBoardLogger\(log_dir="):
        trainer(1, [TensorBoardLogger()]).fit()
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ValueError, match=r"every_n_batches must be an int >= 0"):
            TensorBoardLogger(every_n_batches=bad)


def test_a_resumed_run_writes_a_new_file_and_continues_the_steps(tmp_path):
    run = tmp_path / "run"
    trainer(2, [TensorBoardLogger(every_n_batches=5)], out_dir=run).fit()
    trainer(4, [TensorBoardLogger(every_n_batches=5)], out_dir=run, resume="auto").fit()
    first, second = event_files(run / "tensorboard")
    assert first.name != second.name
    old, new = read_events(first), read_events(second)
    assert [e["step"] for e in old if "val_loss" in e["scalars"]] == [1, 2]  # the first file: untouched
    assert [e["step"] for e in old if "train/batch_loss" in e["scalars"]] == [4, 9]
    assert [e["step"] for e in new if "val_loss" in e["scalars"]] == [3, 4]
    assert [e["step"] for e in new if "train/batch_loss" in e["scalars"]] == [14, 19]
    assert new[0]["file_version"] == "brain.Event:2"


class CrashAt(Callback):
    """Fails in ``epoch``'s end, after the loggers before it wrote that epoch, before its checkpoint."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, trainer, epoch, logs, **kwargs):
        if epoch == self.epoch:
            raise RuntimeError("crash")


def crash_and_resume(run, every):
    with pytest.raises(RuntimeError, match="crash"):
        trainer(3, [TensorBoardLogger(every_n_batches=every), CrashAt(3)], out_dir=run, checkpoint_every=2).fit()
    (first,) = event_files(run / "tensorboard")
    logged = read_events(first)
    assert [e["step"] for e in logged if "val_loss" in e["scalars"]] == [1, 2, 3]  # epoch 3: past the checkpoint
    with first.open("ab") as f:  # and a frame cut short, as a kill in mid-write leaves it
        f.write(b"\x20\x00\x00\x00\x00\x00\x00\x00junk")
    t = trainer(3, [TensorBoardLogger(every_n_batches=every)], out_dir=run, resume="auto")
    t.fit()
    return t, event_files(run / "tensorboard")


def test_a_resume_after_a_crash_drops_what_it_trains_again(tmp_path):
    t, (first, second) = crash_and_resume(tmp_path / "run", every=1)
    old, new = read_events(first), read_events(second)
    assert old[0]["file_version"] == "brain.Event:2"
    assert [e["step"] for e in old if "val_loss" in e["scalars"]] == [1, 2]
    assert [e["step"] for e in old if "train/batch_loss" in e["scalars"]] == list(range(10))
    assert [e["step"] for e in new if "val_loss" in e["scalars"]] == [3]
    assert [e["step"] for e in new if "train/batch_loss" in e["scalars"]] == list(range(10, 15))
    assert new[-1]["scalars"]["val_loss"] == pytest.approx(t.history[-1]["val_loss"], rel=1e-6)


def test_tensorboard_reads_the_file(tmp_path):
    try:
        from tensorboard.backend.event_processing import event_accumulator
    except ImportError:
        pytest.skip("the tensorboard package is not installed (pip install 'trainkit[tensorboard]')")
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as tb_masked
    for blob in (b"", b"123456789", bytes(range(256)) * 3):
        assert masked_crc32c(blob) == tb_masked(blob)
    t = trainer(3, [TensorBoardLogger(every_n_batches=1)], out_dir=tmp_path / "run")
    t.fit()
    acc = event_accumulator.EventAccumulator(str(tmp_path / "run/tensorboard"))
    acc.Reload()
    assert set(acc.Tags()["scalars"]) == {"train/batch_loss", "train_loss", "train_accuracy", "val_loss",
                                          "val_accuracy", "lr", "time"}
    assert [s.step for s in acc.Scalars("val_loss")] == [1, 2, 3]
    assert [s.value for s in acc.Scalars("val_loss")] == pytest.approx([h["val_loss"] for h in t.history])
    assert [s.step for s in acc.Scalars("train/batch_loss")] == list(range(15))
    # after a crash and a resume: one point per step, the resumed run's
    t, _ = crash_and_resume(tmp_path / "crashed", every=2)
    acc = event_accumulator.EventAccumulator(str(tmp_path / "crashed/tensorboard"))
    acc.Reload()
    assert [s.step for s in acc.Scalars("val_loss")] == [1, 2, 3]
    assert acc.Scalars("val_loss")[-1].value == pytest.approx(t.history[-1]["val_loss"], rel=1e-6)
    assert [s.step for s in acc.Scalars("train/batch_loss")] == [1, 3, 5, 7, 9, 11, 13]
