"""``mx.mon.Monitor``: statistics of every array an Executor computes, every ``interval`` batches.

``install(exe)`` hooks an Executor (``Module.install_monitor`` does it for the
module's); between ``tic()`` and ``toc()`` each operator output (and, with
``monitor_all``, input) whose name matches ``pattern`` is passed to
``stat_func``, and so is each operator's input gradient in backward
(``<layer>_backward_<input>``); ``toc`` adds the arguments and auxiliary states
and returns ``(batch, name, text)`` rows; ``toc_print`` logs them on the root
logger as MXNet does.
"""
import logging
import math
import re

from . import ndarray as nd
from .ndarray.ndarray import NDArray

__all__ = ["Monitor"]


def _norm_stat(x):
    """MXNet's default statistic: ``norm(x) / sqrt(size)``."""
    return nd.norm(x) / math.sqrt(x.size)


class Monitor:
    """Collects ``stat_func`` of the arrays whose names match ``pattern`` (a regular expression).

    Parameters
    ----------
    interval : int
        Collect on every ``interval``-th batch (``tic`` counts them).
    stat_func : callable, NDArray -> NDArray or list of NDArrays
        Defaults to ``norm(x) / sqrt(x.size)``.
    pattern : str
        Regular expression matched (``re.match``) against array names.
    sort : bool
        Sort the rows by name in ``toc``.
    monitor_all : bool
        Also see operator inputs, not only outputs.
    """

    def __init__(self, interval, stat_func=None, pattern=".*", sort=False, monitor_all=False):
        if stat_func is None:
            stat_func = _norm_stat
        self.stat_func = stat_func
        self.interval = interval
        self.activated = False
        self.queue = []
        self.step = 0
        self.exes = []
        self.re_prog = re.compile(pattern)
        self.sort = sort
        self.monitor_all = monitor_all

        def stat_helper(name, array):
            if not self.activated or not self.re_prog.match(name):
                return
            self.queue.append((self.step, name, self.stat_func(array)))
        self.stat_helper = stat_helper

    def install(self, exe):
        """Hook executor ``exe`` (several may be installed)."""
        exe.set_monitor_callback(self.stat_helper, self.monitor_all)
        self.exes.append(exe)

    def tic(self):
        """Start collecting for this batch if it is an ``interval``-th one; call before forward."""
        if self.step % self.interval == 0:
            self.queue = []
            self.activated = True
        self.step += 1

    def toc(self):
        """Stop collecting; returns ``[(batch, name, text)]`` including the arguments and auxiliary states."""
        if not self.activated:
            return []
        for exe in self.exes:
            for name, array in zip(exe._symbol.list_arguments(), exe.arg_arrays):
                if self.re_prog.match(name):
                    self.queue.append((self.step, name, self.stat_func(array)))
            for name, array in zip(exe._symbol.list_auxiliary_states(), exe.aux_arrays):
                if self.re_prog.match(name):
                    self.queue.append((self.step, name, self.stat_func(array)))
        self.activated = False
        res = []
        if self.sort:
            self.queue.sort(key=lambda x: x[1])
        for n, k, v_list in self.queue:
            if isinstance(v_list, NDArray):
                v_list = [v_list]
            if not isinstance(v_list, list):
                raise TypeError(f"Monitor stat_func must return an NDArray or a list of them, got "
                                f"{type(v_list).__name__} for '{k}'.")
            s = ""
            for v in v_list:
                if not isinstance(v, NDArray):
                    raise TypeError(f"Monitor stat_func must return NDArrays, got {type(v).__name__} for '{k}'.")
                if v.shape in ((1,), ()):
                    s += str(v.asscalar() if v.shape == (1,) else v.asnumpy().item()) + "\t"
                else:
                    s += str(v.asnumpy()) + "\t"
            res.append((n, k, s))
        self.queue = []
        return res

    def toc_print(self):
        """``toc`` and log each row as ``Batch: N name value`` (root logger, INFO)."""
        for n, k, v in self.toc():
            logging.info("Batch: {:7d} {:30s} {:s}".format(n, k, v))

