"""Iterators over iterators: ``ResizeIter`` and ``PrefetchingIter``, as in MXNet 1.9.1."""
import numpy as np

from .io import DataBatch, DataDesc, DataIter

__all__ = ["ResizeIter", "PrefetchingIter"]


class ResizeIter(DataIter):
    """Serve exactly ``size`` batches per epoch from ``data_iter``, restarting it when it runs out.

    ``reset_internal=False`` keeps the inner iterator's position across ``reset()``.
    """

    def __init__(self, data_iter, size, reset_internal=True):
        super().__init__()
        self.data_iter = data_iter
        self.size = size
        self.reset_internal = reset_internal
        self.cur = 0
        self.current_batch = None
        self.provide_data = data_iter.provide_data
        self.provide_label = data_iter.provide_label
        self.batch_size = data_iter.batch_size
        if hasattr(data_iter, "default_bucket_key"):
            self.default_bucket_key = data_iter.default_bucket_key

    def reset(self):
        self.cur = 0
        if self.reset_internal:
            self.data_iter.reset()

    def iter_next(self):
        if self.cur == self.size:
            return False
        try:
            self.current_batch = self.data_iter.next()
        except StopIteration:
            self.data_iter.reset()
            self.current_batch = self.data_iter.next()
        self.cur += 1
        return True

    def next(self):
        if self.iter_next():
            return self.current_batch
        raise StopIteration

    def getdata(self):
        return self.current_batch.data

    def getlabel(self):
        return self.current_batch.label

    def getindex(self):
        return self.current_batch.index

    def getpad(self):
        return self.current_batch.pad


def _renamed(descs, renames):
    """DataDescs with names mapped through ``renames`` (dtype and layout kept)."""
    return [DataDesc(renames.get(d[0], d[0]) if renames else d[0], d[1], getattr(d, "dtype", np.float32),
                     getattr(d, "layout", "NCHW")) for d in descs]


class PrefetchingIter(DataIter):
    """Join one or more iterators batch by batch (their data and label lists concatenated),
    optionally renaming inputs with ``rename_data``/``rename_label`` (one dict per iterator).

    MXNet fetches the next batches in background threads; here they are fetched when asked
    for, which gives the same batches (numpy work does not overlap usefully on CPU anyway).
    The epoch ends when any iterator ends; ``pad`` and ``index`` come from the first.
    """

    def __init__(self, iters, rename_data=None, rename_label=None):
        super().__init__()
        if not isinstance(iters, list):
            iters = [iters]
        self.n_iter = len(iters)
        if self.n_iter == 0:
            raise ValueError("PrefetchingIter needs at least one data iterator.")
        for renames, what in ((rename_data, "rename_data"), (rename_label, "rename_label")):
            if renames is not None and len(renames) != self.n_iter:
                raise ValueError(f"PrefetchingIter: {what} needs one dict per iterator ({self.n_iter}), "
                                 f"got {len(renames)}.")
        self.iters = iters
        self.rename_data = rename_data
        self.rename_label = rename_label
        self.batch_size = self.provide_data[0][1][0]
        self.current_batch = None

    @property
    def provide_data(self):
        renames = self.rename_data or [None] * self.n_iter
        return sum((_renamed(i.provide_data, r) for i, r in zip(self.iters, renames)), [])

    @property
    def provide_label(self):
        renames = self.rename_label or [None] * self.n_iter
        return sum((_renamed(i.provide_label or [], r) for i, r in zip(self.iters, renames)), [])

    def reset(self):
        for i in self.iters:
            i.reset()

    def iter_next(self):
        batches = []
        for i in self.iters:
            try:
                batches.append(i.next())
            except StopIteration:
                return False
        first = batches[0]
        for b in batches[1:]:
            if b.pad != first.pad:
                raise ValueError(f"PrefetchingIter: the iterators disagree on padding ({first.pad} vs {b.pad}); "
                                 "join iterators with the same number of samples and batch size.")
        self.current_batch = DataBatch(sum((list(b.data) for b in batches), []),
                                       sum((list(b.label or []) for b in batches), []),
                                       first.pad, first.index, provide_data=self.provide_data,
                                       provide_label=self.provide_label)
        return True

    def next(self):
        if self.iter_next():
            return self.current_batch
        raise StopIteration

    def getdata(self):
        return self.current_batch.data

    def getlabel(self):
        return self.current_batch.label

    def getindex(self):
        return self.current_batch.index

    def getpad(self):
        return self.current_batch.pad
