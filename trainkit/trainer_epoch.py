"""What one epoch of ``trainkit.Trainer``'s loop uses besides the network: the batches it runs
(``capped``), the totals it keeps (``Tally``: loss, samples, metrics, and a mid-epoch checkpoint's
share of them), the gradient clipping between backward and update, and the adapter that makes a
user's loss a batch mean.
"""
import itertools
import time

import numpy as np

from .ndarray.ndarray import NDArray
from .train_data import _host


def global_norm(arrays):
    """The joint L2 norm of ``arrays`` (NDArrays), summed in float64: float32 sums lose digits over big layers."""
    total = 0.0
    for a in arrays:
        x = _host(a).ravel().astype(np.float64, copy=False)
        total += float(x @ x)
    return total ** 0.5


def scale_to_norm(arrays, norm, max_norm):
    """Scale ``arrays`` in place by ``max_norm / (norm + 1e-8)`` when that is below 1 (MXNet's
    ``clip_global_norm`` factor)."""
    scale = max_norm / (norm + 1e-8)
    if scale < 1.0:
        for a in arrays:
            a._data *= a._data.dtype.type(scale)


def clip_global_norm(grads, max_norm):
    """Scale ``grads`` in place so their joint L2 norm is at most ``max_norm``; returns the norm before. A
    non-finite norm changes nothing: scaling by it would turn every gradient into NaN and hide where the
    divergence started (DivergenceGuard reports it)."""
    norm = global_norm(grads)
    if np.isfinite(norm):
        scale_to_norm(grads, norm, max_norm)
    return norm


def capped(batches, limit, start=0):
    """The batches from ``start`` up to batch ``limit`` (all of them for limit=None)."""
    return batches if limit is None else itertools.islice(batches, max(0, limit - start))


def _running(loss_sum, seen, metrics=()):
    """The running loss and the first metric (e.g. accuracy), for the progress bar and log_every."""
    out = {"loss": f"{loss_sum / max(seen, 1):.4f}"}
    for m in list(metrics)[:1]:
        for k, v in _named(m).items():
            out[k[:3] if k == "accuracy" else k] = f"{v:.4f}"
    return out


class Tally:
    """An epoch's running totals: the loss summed over samples, the samples seen and the metrics
    (updated from host arrays: one copy of the outputs per batch). A resumed epoch starts from the
    checkpoint's partial totals."""

    def __init__(self, metrics, partial=None):
        self.metrics = metrics
        if partial is None:
            for m in metrics:
                m.reset()
            partial = {"loss_sum": 0.0, "seen": 0, "elapsed": 0.0}
        self.loss_sum, self.seen, self.elapsed = (partial[k] for k in ("loss_sum", "seen", "elapsed"))
        self.seen_before = self.seen

    def add(self, loss, out, y_np):
        n = len(y_np)
        value = float(_host(loss)[0])
        self.loss_sum += value * n
        self.seen += n
        if self.metrics:
            out_np = [_host(out)]
            for m in self.metrics:
                m.update([y_np], out_np)
        return value

    def partial(self, tic):
        """What a mid-epoch checkpoint keeps to continue these totals."""
        return {"loss_sum": self.loss_sum, "seen": self.seen, "elapsed": self.elapsed + time.perf_counter() - tic}

    def running(self):
        """The running loss and the first metric (e.g. accuracy), formatted, for progress bars and log lines."""
        return _running(self.loss_sum, self.seen, self.metrics)

    def result(self):
        out = {"loss": self.loss_sum / max(self.seen, 1)}
        for m in self.metrics:
            out.update(_named(m))
        return out


def _named(metric):
    name, value = metric.get()
    if isinstance(name, (list, tuple)):
        return {n: float(v) for n, v in zip(name, value)}
    return {name: float(value)}


def _fmt(v):
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def batch_mean(fn):
    """A user loss as the batch mean (backward of a per-sample vector would sum the gradients)."""
    def loss(logits, labels):
        value = fn(logits, labels)
        if not isinstance(value, NDArray):
            raise TypeError(f"the loss function must return an NDArray, got {type(value).__name__}.")
        if value.size != 1:
            from . import nd
            value = nd.mean(value).reshape((1,))
        return value.reshape((1,)) if value.shape != (1,) else value
    return loss


def iter_inputs(it, ctx):
    it.reset()
    for batch in it:
        x = batch.data[0]
        keep = x.shape[0] - (batch.pad or 0)
        yield (x[0:keep] if keep < x.shape[0] else x).as_in_context(ctx)


def chain(first, rest):
    if first is not None:
        yield first
    yield from rest
