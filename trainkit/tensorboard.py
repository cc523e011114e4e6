"""``TensorBoardLogger``: a Trainer's metrics as TensorBoard scalars, written with no TensorFlow or
TensorBoard installed (``pip install 'trainkit[tensorboard]'`` is only needed to view them).

An event file is a sequence of TFRecords, each one serialised ``Event`` protobuf:

    record  = uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)   (little-endian)
    Event   = wall_time (1: double) | step (2: int64) | file_version (3: string) or summary (5: Summary)
    Summary = value (1: repeated Value);  Value = tag (1: string) | simple_value (2: float)

The first record holds only ``file_version = "brain.Event:2"``; TensorBoard reads the rest as scalars.
The handful of protobuf wire rules needed for that (varints, fixed 32/64-bit, length-delimited
fields) are written out below rather than pulled in from a protobuf package.

One file per ``fit``, ``events.out.tfevents.<unix time>.<hostname>`` in ``log_dir``: a resumed run
starts a new file beside the old ones, and TensorBoard reads the folder's files as one run. A run
that crashed after its last checkpoint logged epochs (and batches) the resumed run trains again;
TensorBoard would show both (it purges such points only for TensorFlow's own restart markers,
which cannot tell an epoch step from a batch step), so the resumed run first rewrites the older
files of its log_dir without the events past the checkpoint it resumed from.
"""
import logging
import socket
import struct
import time
from pathlib import Path

from . import files as _files
from .callbacks import Callback
from .checkpoint import TrainerError

__all__ = ["TensorBoardLogger", "EventWriter", "read_events", "drop_events_after", "crc32c", "masked_crc32c"]

log = logging.getLogger("trainkit")
BATCH_TAG = "train/batch_loss"


# ----- crc32c (Castagnoli), as TFRecord frames use it ------------------------------------------------
def _crc_table():
    poly = 0x82F63B78  # 0x1EDC6F41 bit-reversed: the table-driven loop below consumes bytes LSB first
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_TABLE = _crc_table()


def crc32c(data, crc=0):
    """CRC-32C of ``data`` (bytes); ``crc32c(b"123456789") == 0xE3069283``."""
    crc ^= 0xFFFFFFFF
    table = _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    """TFRecord's mask: a CRC of data that itself holds CRCs would be weak, so the stored value is rotated
    and offset."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(data):
    """One TFRecord frame around ``data``."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data))


# ----- the protobuf wire format, only as far as Event needs it -------------------------------------------
def _varint(n):
    n &= 0xFFFFFFFFFFFFFFFF  # int64: a negative number is its two's complement, 10 bytes
    out = bytearray()
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _key(field, wire_type):
    return _varint(field << 3 | wire_type)


def _bytes_field(field, payload):
    return _key(field, 2) + _varint(len(payload)) + payload


def _scalar_value(tag, value):
    return _bytes_field(1, tag.encode("utf-8")) + _key(2, 5) + struct.pack("<f", value)


def encode_event(wall_time, step, file_version=None, scalars=()):
    """A serialised Event: ``scalars`` = ``[(tag, float)]`` as one Summary."""
    out = _key(1, 1) + struct.pack("<d", wall_time) + _key(2, 0) + _varint(int(step))
    if file_version is not None:
        out += _bytes_field(3, file_version.encode("utf-8"))
    if scalars:
        summary = b"".join(_bytes_field(1, _scalar_value(tag, v)) for tag, v in scalars)
        out += _bytes_field(5, summary)
    return out


# ----- reading back (stale events of a resumed run; scripts) --------------------------------------------
def _read_varint(buf, i):
    shift = n = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def _fields(buf):
    i = 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _read_varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:  # groups (3, 4): not in Event
            raise ValueError(f"protobuf wire type {wire}")
        yield field, value


def _records(data):
    """``(start, end, payload)`` of each whole frame; stops at a frame cut short or with a bad CRC (what a
    kill in mid-write leaves)."""
    i = 0
    while i + 12 <= len(data):
        head = data[i:i + 8]
        (n,) = struct.unpack("<Q", head)
        if struct.unpack("<I", data[i + 8:i + 12])[0] != masked_crc32c(head) or i + 16 + n > len(data):
            return
        body = data[i + 12:i + 12 + n]
        if struct.unpack("<I", data[i + 12 + n:i + 16 + n])[0] != masked_crc32c(body):
            return
        yield i, i + 16 + n, body
        i += 16 + n


def _decode(body):
    event = {"wall_time": 0.0, "step": 0, "scalars": {}}
    for field, value in _fields(body):
        if field == 1:
            event["wall_time"] = struct.unpack("<d", value)[0]
        elif field == 2:
            event["step"] = value - (1 << 64) if value >= 1 << 63 else value
        elif field == 3:
            event["file_version"] = value.decode("utf-8", "replace")
        elif field == 5:
            for f, v in _fields(value):
                if f == 1:
                    parts = dict(_fields(v))
                    if 1 in parts and 2 in parts and len(parts[2]) == 4:
                        event["scalars"][parts[1].decode("utf-8", "replace")] = struct.unpack("<f", parts[2])[0]
    return event


def read_events(path):
    """The events of an event file, as ``{"wall_time", "step", "scalars": {tag: value}}`` (and
    ``"file_version"`` on the first); a frame cut short ends the list."""
    data = Path(path).read_bytes()
    return [_decode(body) for _, _, body in _records(data)]


def drop_events_after(folder, epoch, batch=None):
    """Rewrite each event file in ``folder`` without the epoch scalars of steps
    after ``epoch`` and, when ``batch`` is given, the batch losses of steps from ``batch`` on. Returns
    ``{file name: events dropped}`` for the files it rewrote."""
    dropped = {}
    for path in sorted(Path(folder).glob("*tfevents*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        kept, n, end = [], 0, 0
        for start, end, body in _records(data):
            e = _decode(body)
            scalars = e["scalars"]
            stale = bool(scalars) and (
                (BATCH_TAG in scalars and batch is not None and e["step"] >= batch)
                or (BATCH_TAG not in scalars and e["step"] > epoch))
            n += stale
            if not stale:
                kept.append(data[start:end])
        if n or end != len(data):  # a torn last frame goes too: TensorBoard would stop reading there
            _files.write_bytes(path, b"".join(kept), durable=False)
            dropped[path.name] = n
    return dropped


# ----- the writer ------------------------------------------------------------------------------------------
class EventWriter:
    """Appends scalar events to a new event file in ``log_dir`` (created if missing)."""

    def __init__(self, log_dir):
        folder = Path(log_dir)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise TrainerError(f"TensorBoardLogger cannot create its log_dir {str(folder)!r}: {e.strerror}. "
                               "Pass a writable log_dir (logger.log_dir=...).") from None
        base = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}"
        path, n = folder / base, 0
        while path.exists():  # a resume within the same second: never append to the other fit's file
            n += 1
            path = folder / f"{base}.{n}"
        self.path = path
        # an append stream, not trainkit.files' whole-file writes: TensorBoard reads the file while it
        # grows, and a frame cut short by a kill is dropped by its reader (the CRC fails)
        self._f = open(path, "ab")
        self._write(encode_event(time.time(), 0, file_version="brain.Event:2"))
        self.flush()

    def _write(self, data):
        self._f.write(tfrecord(data))

    def add_scalars(self, scalars, step, wall_time=None):
        """One event holding ``scalars`` (``[(tag, value)]``) at ``step``."""
        if scalars:
            self._write(encode_event(time.time() if wall_time is None else wall_time, step, scalars=scalars))

    def add_scalar(self, tag, value, step, wall_time=None):
        self.add_scalars([(tag, value)], step, wall_time)

    def flush(self):
        self._f.flush()

    def close(self):
        if not self._f.closed:
            self._f.flush()
            self._f.close()


def _batches_per_epoch(trainer):
    """Batches in one training epoch, or None when the data does not say."""
    n = getattr(trainer, "num_batches", None)  # the Trainer's own count (limit_batches applied), when it keeps one
    if n:
        return n
    try:
        return trainer.train_data.num_batches(trainer.batch_size)
    except (AttributeError, TypeError):
        return None


def _numeric(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class TensorBoardLogger(Callback):
    """Writes every epoch's numeric logs (train_loss, val_accuracy, lr, time, ...) as TensorBoard
    scalars, tag = the key, step = the epoch; with ``every_n_batches=N`` also the loss of every N-th
    batch as ``train/batch_loss``, step = the batch's number counted from 0 at the first epoch's first
    batch (so a resumed run continues the same axis; a DataIter that does not say how many batches
    it has is counted from this fit's start instead).

    ``log_dir=None`` writes into ``<trainer.out_dir>/tensorboard``. A resumed fit first drops, from the
    older files there, the events past the checkpoint it resumed from, so give each run a log_dir of
    its own (the default is). View with ``tensorboard --logdir <folder>``
    (``pip install 'trainkit[tensorboard]'``)."""

    def __init__(self, log_dir=None, every_n_batches=0):
        if isinstance(every_n_batches, bool) or not isinstance(every_n_batches, int) or every_n_batches < 0:
            raise ValueError(f"TensorBoardLogger every_n_batches must be an int >= 0 (0 = epoch scalars only), "
                             f"got {every_n_batches!r}.")
        self.log_dir = None if log_dir is None else str(log_dir)
        self.every_n_batches = every_n_batches
        self.writer = None
        self._seen = 0  # batches of a DataIter that does not say how many it has

    def on_fit_start(self, trainer, **kwargs):
        folder = self.log_dir
        if folder is None:
            if trainer.out_dir is None:
                raise TrainerError("TensorBoardLogger has no folder for its event file: the Trainer has no "
                                   "out_dir and log_dir is None. Pass TensorBoardLogger(log_dir='runs/NAME') "
                                   "or give the Trainer an out_dir (its event file goes to <out_dir>/tensorboard).")
            folder = Path(trainer.out_dir) / "tensorboard"
        self.close()
        if trainer.epoch > 0 and Path(folder).is_dir():  # resumed (or a second fit): drop what it trains again
            per_epoch = _batches_per_epoch(trainer)
            # _batches_done: batches of the next epoch a mid-epoch checkpoint already holds
            batch = None if not per_epoch else trainer.epoch * per_epoch + getattr(trainer, "_batches_done", 0)
            for name, n in drop_events_after(folder, trainer.epoch, batch).items():
                log.info("tensorboard: %s: dropped %d events past epoch %d (the checkpoint resumed from)", name, n,
                         trainer.epoch)
        self.writer = EventWriter(folder)

    def on_batch_end(self, trainer, epoch, batch, loss, **kwargs):
        if not self.every_n_batches or self.writer is None:
            return
        per_epoch = _batches_per_epoch(trainer)
        if per_epoch:
            step = (epoch - 1) * per_epoch + batch
        else:
            step, self._seen = self._seen, self._seen + 1
        if (step + 1) % self.every_n_batches == 0:
            self.writer.add_scalar(BATCH_TAG, float(loss), step)

    def on_epoch_end(self, trainer, epoch, logs, **kwargs):
        if self.writer is None:
            return
        scalars = [(k, float(v)) for k, v in logs.items() if k != "epoch" and _numeric(v)]
        self.writer.add_scalars(scalars, epoch)
        self.writer.flush()

    def on_fit_end(self, trainer, **kwargs):
        self.close()

    def on_exception(self, trainer, exception, **kwargs):
        self.close()

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None
