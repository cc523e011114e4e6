"""``mx.io``: data descriptions, batches and the in-memory ``NDArrayIter``, as in MXNet 1.9.1.

``NDArrayIter`` serves mini-batches from arrays held in memory. Its batches,
``pad`` values and epoch boundaries follow MXNet 1.9.1 for the three
``last_batch_handle`` modes (5 samples, batch 2):

* ``'pad'`` (default): the last batch wraps around to the start: ``[4, 0]``, ``pad=1``.
* ``'discard'``: the incomplete last batch is dropped.
* ``'roll_over'``: the leftover samples start the next epoch after ``reset()``:
  ``[4, 0]`` with ``pad=1`` (MXNet reports the leftover count as pad), then ``[1, 2]``, ``[3, 4]``.

``shuffle=True`` shuffles as MXNet does, with numpy's global generator
(``np.random.seed`` makes it reproducible; ``mx.random.seed`` does not touch it),
at construction and at each ``reset()``, each shuffle reordering the previous
order; ``np.random.seed(s)`` then gives MXNet's batches. Inside
``shuffle_source(fn)`` (what trainkit's Trainer uses) each shuffle is instead a
fresh permutation ``fn(n)`` of the original order.

Differences from MXNet, all where MXNet misbehaves:

* The batch axis comes from ``layout`` everywhere; MXNet counts samples and
  shuffles along axis 0 even when the layout puts ``N`` elsewhere.
* Mismatched data/label lengths, bad batch sizes and unknown modes raise at
  construction instead of failing later.
* Shuffling keeps the arrays' dtype (MXNet casts shuffled integer NDArrays to float32).
"""
import contextlib
import contextvars
from collections import OrderedDict, namedtuple

import numpy as np

from ..base import MXNetError
from ..ndarray.ndarray import NDArray, array

__all__ = ["DataDesc", "DataBatch", "DataIter", "NDArrayIter", "shuffle_source"]


class DataDesc(namedtuple("DataDesc", ["name", "shape"])):
    """Name, shape, dtype and layout of one input: a ``(name, shape)`` namedtuple with two extras.

    ``DataDesc('data', (1, 3)) == ('data', (1, 3))``; the repr is
    ``DataDesc[data,(1, 3),<class 'numpy.float32'>,NCHW]``.
    """

    def __new__(cls, name, shape, dtype=np.float32, layout="NCHW"):
        ret = super().__new__(cls, name, shape)
        ret.dtype = dtype
        ret.layout = layout
        return ret

    def __getnewargs__(self):
        return (self.name, self.shape, self.dtype, self.layout)

    def __repr__(self):
        return f"DataDesc[{self.name},{self.shape},{self.dtype},{self.layout}]"

    @staticmethod
    def get_batch_axis(layout):
        """The position of ``N`` in ``layout`` (0 when layout is None, -1 when there is no N)."""
        if layout is None:
            return 0
        return layout.find("N")

    @staticmethod
    def get_list(shapes, types):
        """DataDescs from ``[(name, shape)]`` and optionally ``[(name, dtype)]``."""
        if types is not None:
            type_dict = dict(types)
            return [DataDesc(x[0], x[1], type_dict[x[0]]) for x in shapes]
        return [DataDesc(x[0], x[1]) for x in shapes]


class DataBatch:
    """One mini-batch: lists of data and label NDArrays, plus how many samples are padding."""

    def __init__(self, data, label=None, pad=None, index=None, bucket_key=None,
                 provide_data=None, provide_label=None):
        if data is not None and not isinstance(data, (list, tuple)):
            raise TypeError(f"DataBatch data must be a list of NDArrays, got {type(data).__name__}. "
                            "Wrap a single array: DataBatch(data=[x]).")
        if label is not None and not isinstance(label, (list, tuple)):
            raise TypeError(f"DataBatch label must be a list of NDArrays, got {type(label).__name__}. "
                            "Wrap a single array: DataBatch(data=[x], label=[y]).")
        self.data = data
        self.label = label
        self.pad = pad
        self.index = index
        self.bucket_key = bucket_key
        self.provide_data = provide_data
        self.provide_label = provide_label

    def __str__(self):
        data_shapes = [d.shape for d in self.data]
        label_shapes = [lab.shape for lab in self.label] if self.label else None
        return f"{type(self).__name__}: data shapes: {data_shapes} label shapes: {label_shapes}"


class DataIter:
    """Base class of data iterators: ``iter_next`` then ``getdata``/``getlabel``/``getpad``/``getindex``.

    Subclasses also provide ``provide_data`` and ``provide_label`` (lists of DataDesc),
    as properties or as attributes.
    """

    def __init__(self, batch_size=0):
        self.batch_size = batch_size

    def __iter__(self):
        return self

    def reset(self):
        """Go back to the first batch."""

    def next(self):
        """The next DataBatch; raises StopIteration at the end of the epoch."""
        if self.iter_next():
            return DataBatch(data=self.getdata(), label=self.getlabel(), pad=self.getpad(),
                             index=self.getindex())
        raise StopIteration

    def __next__(self):
        return self.next()

    def iter_next(self):
        """Move to the next batch; False when there is none."""

    def getdata(self):
        """The data arrays of the current batch."""

    def getlabel(self):
        """The label arrays of the current batch."""

    def getindex(self):
        """The sample indices of the current batch, or None."""
        return None

    def getpad(self):
        """How many samples at the end of the current batch are padding."""


_LAST_BATCH_MODES = ("pad", "discard", "roll_over")


def _init_data(data, allow_empty, default_name):
    """``[(name, NDArray)]`` sorted by name, from an array, a list or a dict of arrays."""
    if data is None:
        if not allow_empty:
            raise ValueError("NDArrayIter needs data: pass an array, a list of arrays or a dict of "
                             "name to array.")
        data = []
    if isinstance(data, (np.ndarray, NDArray)):
        data = [data]
    if isinstance(data, (list, tuple)):
        if not allow_empty and len(data) == 0:
            raise ValueError("NDArrayIter got an empty list of data arrays.")
        if len(data) == 1:
            data = OrderedDict([(default_name, data[0])])
        else:
            data = OrderedDict([(f"_{i}_{default_name}", d) for i, d in enumerate(data)])
    if not isinstance(data, dict):
        raise TypeError(f"Input must be NDArray, numpy.ndarray, a list of them or dict with them as values; "
                        f"got {type(data).__name__}.")
    out = {}
    for k, v in data.items():
        if not isinstance(v, NDArray):
            try:
                v = array(v)        # float32, as mx.nd.array makes it
            except (TypeError, ValueError) as err:
                raise TypeError(f"Invalid type '{type(v)}' for {k}, should be NDArray or numpy.ndarray "
                                f"({err}).") from None
        out[k] = v
    return sorted(out.items())


_SHUFFLE_SOURCE = contextvars.ContextVar("trainkit_io_shuffle_source", default=None)


@contextlib.contextmanager
def shuffle_source(permutation):
    """Inside the block, ``NDArrayIter`` shuffles draw ``permutation(n)`` (a fresh order of the
    original samples) instead of shuffling with numpy's global generator as MXNet does.

    trainkit's Trainer resets its iterators under ``shuffle_source(mx.random.permutation)``, so
    its epoch orders come from a checkpointed stream and a resumed run replays them exactly.
    """
    token = _SHUFFLE_SOURCE.set(permutation)
    try:
        yield
    finally:
        _SHUFFLE_SOURCE.reset(token)


class NDArrayIter(DataIter):
    """Iterate over in-memory arrays in mini-batches.

    Parameters
    ----------
    data, label : array, list of arrays or dict of name to array
        numpy arrays become float32 NDArrays; NDArrays are used as they are (no
        copy, dtype kept). A list names its arrays ``_0_data``, ``_1_data``, ...;
        a dict's entries are served sorted by name.
    batch_size : int
    shuffle : bool
        Draw a new order at construction and at each ``reset()``.
    last_batch_handle : {'pad', 'discard', 'roll_over'}
        What to do with the last, incomplete batch (see the module docstring).
    data_name, label_name : str
        Names of a single data/label array.
    layout : str
        Where ``N`` (the batch axis) is, e.g. ``'NCHW'`` or ``'TNC'``.
    """

    def __init__(self, data, label=None, batch_size=1, shuffle=False, last_batch_handle="pad",
                 data_name="data", label_name="softmax_label", layout="NCHW"):
        super().__init__(batch_size)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"NDArrayIter batch_size must be a positive int, got {batch_size!r}.")
        if last_batch_handle not in _LAST_BATCH_MODES:
            raise ValueError(f"NDArrayIter last_batch_handle must be one of {', '.join(_LAST_BATCH_MODES)}; "
                             f"got {last_batch_handle!r}.")
        if not isinstance(layout, str) or "N" not in layout:
            raise ValueError(f"NDArrayIter layout must name the batch axis with 'N' (e.g. 'NCHW', 'TNC'), "
                             f"got {layout!r}.")
        self.layout = layout
        self._axis = layout.find("N")
        self._orig_data = _init_data(data, allow_empty=False, default_name=data_name)
        self._orig_label = _init_data(label, allow_empty=True, default_name=label_name)

        sizes = []
        for k, v in self._orig_data + self._orig_label:
            if v.ndim <= self._axis:
                raise ValueError(f"NDArrayIter: array {k!r} of shape {v.shape} has no batch axis {self._axis} "
                                 f"(layout {layout!r}). A Python list is read as several arrays; pass "
                                 "np.array(values) for a single one.")
            sizes.append((k, v.shape[self._axis]))
        if len({n for _, n in sizes}) > 1:
            listing = ", ".join(f"{k}: {n}" for k, n in sizes)
            raise ValueError(f"NDArrayIter: all data and label arrays must hold the same number of samples "
                             f"along the batch axis; got {listing}.")
        self.num_data = sizes[0][1]
        if self.num_data == 0:
            raise ValueError("NDArrayIter got arrays with 0 samples.")
        if last_batch_handle == "discard" and batch_size > self.num_data:
            raise ValueError(f"NDArrayIter: batch_size {batch_size} is larger than the {self.num_data} samples "
                             "and last_batch_handle='discard' would drop them all. Use a smaller batch_size "
                             "or last_batch_handle='pad'.")

        self.data = self._orig_data
        self.label = self._orig_label
        self.idx = np.arange(self.num_data)
        self._order = np.arange(self.num_data)     # self.data[i] is self._orig_data[self._order[i]]
        self.shuffle = shuffle
        self.last_batch_handle = last_batch_handle
        self.batch_size = batch_size
        self.cursor = -self.batch_size
        # leftovers of the last epoch, used by 'roll_over'
        self._cache_data = None
        self._cache_label = None
        self.reset()

    @property
    def data_list(self):
        return [v for _, v in self.data] + [v for _, v in self.label]

    @property
    def num_source(self):
        return len(self.data) + len(self.label)

    def _descs(self, source):
        out = []
        for k, v in source:
            shape = list(v.shape)
            shape[self._axis] = self.batch_size
            out.append(DataDesc(k, tuple(shape), v.dtype, layout=self.layout))
        return out

    @property
    def provide_data(self):
        """DataDescs of the data arrays, with the batch size in place of the sample count."""
        return self._descs(self.data)

    @property
    def provide_label(self):
        """DataDescs of the label arrays (an empty list without labels)."""
        return self._descs(self.label)

    def hard_reset(self):
        """Back to the start, dropping any roll-over leftovers."""
        if self.shuffle:
            self._shuffle_data()
        self.cursor = -self.batch_size
        self._cache_data = None
        self._cache_label = None

    def reset(self):
        """Back to the start (with ``roll_over``, the leftovers open the next epoch)."""
        if self.shuffle:
            self._shuffle_data()
        if self.last_batch_handle == "roll_over" and \
                self.num_data - self.batch_size < self.cursor < self.num_data:
            # cursor - num_data is minus the number of leftover samples
            self.cursor = self.cursor - self.num_data - self.batch_size
        else:
            self.cursor = -self.batch_size

    def iter_next(self):
        self.cursor += self.batch_size
        return self.cursor < self.num_data

    def next(self):
        if not self.iter_next():
            raise StopIteration
        data = self.getdata()
        label = self.getlabel()
        if data[0].shape[self._axis] != self.batch_size:
            # an incomplete last batch ends the epoch; 'roll_over' serves it after reset()
            self._cache_data = data
            self._cache_label = label
            raise StopIteration
        return DataBatch(data=data, label=label, pad=self.getpad(), index=None)

    # ----- slicing ------------------------------------------------------------------------
    def _slice(self, v, start, end):
        key = (slice(None),) * self._axis + (slice(start, end),)
        return NDArray(v._data[key], v._ctx)

    def _getdata(self, source, start=None, end=None):
        start = 0 if start is None else start
        end = self.num_data if end is None else end
        return [self._slice(v, start, end) for _, v in source]

    def _concat(self, first, second):
        if not first or not second:
            return first if first else second
        return [NDArray(a._ctx.xp.concatenate([a._data, b._data], axis=self._axis), a._ctx)
                for a, b in zip(first, second)]

    def _batchify(self, source, cache_attr):
        if not self.cursor < self.num_data:
            raise MXNetError("DataIter needs reset: the epoch is over. Call reset() before asking for "
                             "more batches.")
        if self.last_batch_handle == "roll_over" and -self.batch_size < self.cursor < 0:
            # first batch after a roll-over: last epoch's leftovers, then the start of this one
            cache = getattr(self, cache_attr)
            if cache is None:
                raise MXNetError("NDArrayIter: no leftover batch to roll over; call hard_reset().")
            setattr(self, cache_attr, None)
            return self._concat(cache, self._getdata(source, end=self.cursor + self.batch_size))
        if self.last_batch_handle == "pad" and self.cursor + self.batch_size > self.num_data:
            # wrap around to the start (several times when batch_size exceeds the data)
            pad = self.batch_size - self.num_data + self.cursor
            batch = self._getdata(source, start=self.cursor)
            whole, rest = divmod(pad, self.num_data)
            for _ in range(whole):
                batch = self._concat(batch, self._getdata(source, end=self.num_data))
            if rest:
                batch = self._concat(batch, self._getdata(source, end=rest))
            return batch
        end = min(self.cursor + self.batch_size, self.num_data)
        return self._getdata(source, self.cursor, end)

    def getdata(self):
        return self._batchify(self.data, "_cache_data")

    def getlabel(self):
        return self._batchify(self.label, "_cache_label")

    def getpad(self):
        if self.last_batch_handle == "pad" and self.cursor + self.batch_size > self.num_data:
            return self.cursor + self.batch_size - self.num_data
        if self.last_batch_handle == "roll_over" and -self.batch_size < self.cursor < 0:
            return -self.cursor
        return 0

    def _shuffle_data(self):
        source = _SHUFFLE_SOURCE.get()
        if source is None:
            # MXNet: shuffle the index array in place with numpy's global generator, then reorder
            # the *current* data by it, so successive shuffles compose
            np.random.shuffle(self.idx)
            self._order = self._order[self.idx]
        else:
            self.idx = np.asarray(source(self.num_data))
            self._order = self.idx.copy()
        self.data = [(k, self._take(v)) for k, v in self._orig_data]
        self.label = [(k, self._take(v)) for k, v in self._orig_label]

    def _take(self, v):
        xp = v._ctx.xp
        return NDArray(xp.take(v._data, xp.asarray(self._order), axis=self._axis), v._ctx)
