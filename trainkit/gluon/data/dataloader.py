"""Gluon's DataLoader: batches from a Dataset through a (batch) sampler and a batchify function.

``num_workers`` (and ``thread_pool``, ``prefetch``, ``auto_reload``) are accepted and
the batches are made in this process (trainkit has no worker pool): the batches,
their order and their count are what MXNet's loader gives for the same sampler.
``pin_memory=True`` puts them on ``cpu_pinned(pin_device_id)``, as MXNet.
"""
import numpy as np

from ...context import cpu_pinned
from ...ndarray.ndarray import NDArray, array
from . import sampler as _sampler

__all__ = ["DataLoader", "default_batchify_fn"]


def default_batchify_fn(data):
    """Stack samples into a batch: NDArrays with ``nd.stack``, tuples element-wise, the rest via numpy."""
    if isinstance(data[0], NDArray):
        from ... import nd
        return nd.stack(*data)
    if isinstance(data[0], tuple):
        return [default_batchify_fn(i) for i in zip(*data)]
    data = np.asarray(data)
    return array(data, dtype=data.dtype)


default_mp_batchify_fn = default_batchify_fn


def _as_in_context(data, ctx):
    if isinstance(data, NDArray):
        return data.as_in_context(ctx)
    if isinstance(data, (list, tuple)):
        return [_as_in_context(d, ctx) for d in data]
    return data


class DataLoader:
    """Iterates over ``dataset`` in mini-batches (``shuffle``, ``sampler``, ``batch_sampler``, ``last_batch``)."""

    def __init__(self, dataset, batch_size=None, shuffle=False, sampler=None, last_batch=None, batch_sampler=None,
                 batchify_fn=None, num_workers=0, pin_memory=False, pin_device_id=0, prefetch=None,
                 thread_pool=False, timeout=120, try_nopython=None, auto_reload=False):
        self._dataset = dataset
        self._pin_memory = pin_memory
        self._pin_device_id = pin_device_id
        self._timeout = timeout
        self.auto_reload = auto_reload  # accepted: batches are made on demand, nothing to pre-start
        if batch_sampler is None:
            if batch_size is None:
                raise ValueError("batch_size must be specified unless batch_sampler is specified")
            if sampler is None:
                sampler = _sampler.RandomSampler(len(dataset)) if shuffle else _sampler.SequentialSampler(len(dataset))
            elif shuffle:
                raise ValueError("shuffle must not be specified if sampler is specified")
            batch_sampler = _sampler.BatchSampler(sampler, batch_size, last_batch if last_batch else "keep")
        elif batch_size is not None or shuffle or sampler is not None or last_batch is not None:
            raise ValueError("batch_size, shuffle, sampler and last_batch must not be specified if batch_sampler is "
                             "specified.")
        self._batch_sampler = batch_sampler
        if num_workers < 0:
            raise ValueError(f"num_workers must be a non-negative integer, got {num_workers}.")
        self._num_workers = num_workers
        self._prefetch = max(0, int(prefetch) if prefetch is not None else 2 * num_workers)
        self._batchify_fn = default_batchify_fn if batchify_fn is None else batchify_fn

    def __iter__(self):
        for batch in self._batch_sampler:
            ret = self._batchify_fn([self._dataset[idx] for idx in batch])
            if self._pin_memory:
                ret = _as_in_context(ret, cpu_pinned(self._pin_device_id))
            yield ret

    def __len__(self):
        return len(self._batch_sampler)
