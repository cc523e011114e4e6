"""``BaseModule``: what every module shares, the MXNet 1.x training-loop API: ``fit``,
``score``, ``predict``, ``iter_predict``, ``forward_backward`` (``mx.mod.BaseModule``).

``Module`` (module.py) supplies bind, parameters, forward/backward and update.
"""
import logging
import math
import sys
import time

import numpy as np

from .. import initializer as _init, metric as _metric
from ..base import MXNetError
from ..io import DataBatch
from ..model import BatchEndParam
from ..ndarray.ndarray import NDArray, array


class ModuleStateError(MXNetError, AssertionError):
    """A Module method called out of order (MXNet raises a bare AssertionError there)."""


class ModuleValueError(MXNetError, ValueError):
    """A bad argument where MXNet raises ValueError."""


def _as_list(obj):
    if obj is None:
        return []
    return list(obj) if isinstance(obj, (list, tuple)) else [obj]


class BaseModule:
    """What every module shares: ``fit``, ``score``, ``predict``, ``iter_predict``, ``forward_backward``."""

    def __init__(self, logger=logging):
        self.logger = logger
        self.binded = False
        self.for_training = False
        self.inputs_need_grad = False
        self.params_initialized = False
        self.optimizer_initialized = False
        self._symbol = None
        self._total_exec_bytes = 0

    def forward_backward(self, data_batch):
        """``forward(is_train=True)`` then ``backward()``."""
        self.forward(data_batch, is_train=True)
        self.backward()

    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Nothing to prepare: trainkit has no distributed key-value store."""

    def install_monitor(self, mon):
        raise NotImplementedError(f"{type(self).__name__} does not support install_monitor; mx.mod.Module and "
                                  "BucketingModule do.")

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True, allow_extra=False):
        """Assign parameter values: ``init_params(initializer=None, ...)`` (MXNet's BaseModule.set_params)."""
        self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                         allow_missing=allow_missing, force_init=force_init, allow_extra=allow_extra)

    def score(self, eval_data, eval_metric, num_batch=None, batch_end_callback=None, score_end_callback=None,
              reset=True, epoch=0, sparse_row_id_fn=None):
        """Run prediction over ``eval_data`` and return ``eval_metric.get_name_value()``."""
        self._check_ready("score")
        if reset:
            eval_data.reset()
        if not isinstance(eval_metric, _metric.EvalMetric):
            eval_metric = _metric.create(eval_metric)
        eval_metric.reset()
        actual_num_batch = 0
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.forward(eval_batch, is_train=False)
            self.update_metric(eval_metric, eval_batch.label)
            if batch_end_callback is not None:
                params = BatchEndParam(epoch=epoch, nbatch=nbatch, eval_metric=eval_metric, locals=locals())
                for callback in _as_list(batch_end_callback):
                    callback(params)
            actual_num_batch += 1
        if score_end_callback:
            params = BatchEndParam(epoch=epoch, nbatch=actual_num_batch, eval_metric=eval_metric, locals=locals())
            for callback in _as_list(score_end_callback):
                callback(params)
        return eval_metric.get_name_value()

    def iter_predict(self, eval_data, num_batch=None, reset=True, sparse_row_id_fn=None):
        """Yield ``(outputs, nbatch, batch)`` per batch, padding trimmed."""
        self._check_ready("iter_predict")
        if reset:
            eval_data.reset()
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.forward(eval_batch, is_train=False)
            pad = eval_batch.pad or 0
            outputs = [out[0:out.shape[0] - pad] for out in self.get_outputs()]
            yield outputs, nbatch, eval_batch

    def predict(self, eval_data, num_batch=None, merge_batches=True, reset=True, always_output_list=False,
                sparse_row_id_fn=None):
        """Outputs over a DataIter (padding trimmed, batches concatenated), or for one NDArray/numpy batch.

        Prediction always runs in predict mode (MXNet's NDArray path used the
        module's training mode, so Dropout dropped there).
        """
        from .. import nd
        self._check_ready("predict")
        if isinstance(eval_data, (NDArray, np.ndarray)):
            if isinstance(eval_data, np.ndarray):
                eval_data = array(eval_data)
            self.forward(DataBatch([eval_data]), is_train=False)
            return self.get_outputs()[0]
        if not (hasattr(eval_data, "reset") and hasattr(eval_data, "__iter__")):
            raise ValueError("eval_data must be of type NDArray or DataIter")
        if reset:
            eval_data.reset()
        output_list = []
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.forward(eval_batch, is_train=False)
            pad = eval_batch.pad or 0
            output_list.append([out[0:out.shape[0] - pad].copy() for out in self.get_outputs()])
        if not output_list:
            return output_list
        if merge_batches:
            num_outputs = len(output_list[0])
            if any(len(out) != num_outputs for out in output_list):
                raise MXNetError("Cannot merge batches, as num of outputs is not the same in mini-batches. "
                                 "Maybe bucketing is used?")
            merged = [nd.concat(*[out[i] for out in output_list], dim=0) if len(output_list) > 1
                      else output_list[0][i] for i in range(num_outputs)]
            if num_outputs == 1 and not always_output_list:
                return merged[0]
            return merged
        return output_list

    def fit(self, train_data, eval_data=None, eval_metric="acc", epoch_end_callback=None, batch_end_callback=None,
            kvstore="local", optimizer="sgd", optimizer_params=(("learning_rate", 0.01),), eval_end_callback=None,
            eval_batch_end_callback=None, initializer=_init.Uniform(0.01), arg_params=None, aux_params=None,
            allow_missing=False, force_rebind=False, force_init=False, begin_epoch=0, num_epoch=None,
            validation_metric=None, monitor=None, sparse_row_id_fn=None):
        """Train for epochs ``begin_epoch..num_epoch-1``: MXNet's loop, with a progress bar on a terminal.

        Logs ``Epoch[k] Train-<metric>=...``, ``Epoch[k] Time cost=...`` and, with
        ``eval_data``, ``Epoch[k] Validation-<metric>=...`` through the module's logger.
        The tqdm bar over batches shows only when stderr is a terminal.
        """
        if num_epoch is None:
            raise ModuleStateError("please specify number of epochs")
        self.bind(data_shapes=train_data.provide_data, label_shapes=train_data.provide_label, for_training=True,
                  force_rebind=force_rebind)
        if monitor is not None:
            self.install_monitor(monitor)
        self.init_params(initializer=initializer, arg_params=arg_params, aux_params=aux_params,
                         allow_missing=allow_missing, force_init=force_init)
        self.init_optimizer(kvstore=kvstore, optimizer=optimizer, optimizer_params=optimizer_params)
        if validation_metric is None:
            validation_metric = eval_metric
        if not isinstance(eval_metric, _metric.EvalMetric):
            eval_metric = _metric.create(eval_metric)

        for epoch in range(begin_epoch, num_epoch):
            tic = time.time()
            eval_metric.reset()
            bar = _progress_bar(train_data, epoch)
            nbatch = 0
            data_iter = iter(train_data)
            end_of_batch = False
            next_data_batch = next(data_iter)
            eval_name_vals = []
            try:
                while not end_of_batch:
                    data_batch = next_data_batch
                    if monitor is not None:
                        monitor.tic()
                    self.forward_backward(data_batch)
                    self.update()
                    self.update_metric(eval_metric, data_batch.label)
                    if monitor is not None:
                        monitor.toc_print()
                    try:
                        next_data_batch = next(data_iter)
                    except StopIteration:
                        end_of_batch = True
                    if end_of_batch:
                        eval_name_vals = eval_metric.get_global_name_value()
                    if batch_end_callback is not None:
                        params = BatchEndParam(epoch=epoch, nbatch=nbatch, eval_metric=eval_metric, locals=locals())
                        for callback in _as_list(batch_end_callback):
                            callback(params)
                    nbatch += 1
                    if bar is not None:
                        bar.update(1)
            finally:
                if bar is not None:
                    bar.close()
            for name, val in eval_name_vals:
                self.logger.info("Epoch[%d] Train-%s=%f", epoch, name, val)
            toc = time.time()
            self.logger.info("Epoch[%d] Time cost=%.3f", epoch, toc - tic)

            arg_params_, aux_params_ = self.get_params()
            self.set_params(arg_params_, aux_params_)
            if epoch_end_callback is not None:
                for callback in _as_list(epoch_end_callback):
                    callback(epoch, self.symbol, arg_params_, aux_params_)
            if eval_data:
                res = self.score(eval_data, validation_metric, score_end_callback=eval_end_callback,
                                 batch_end_callback=eval_batch_end_callback, epoch=epoch)
                for name, val in res:
                    self.logger.info("Epoch[%d] Validation-%s=%f", epoch, name, val)
            train_data.reset()

    @property
    def symbol(self):
        return self._symbol

    def get_symbol(self):
        return self._symbol

    def _check_ready(self, what):
        if not self.binded:
            raise ModuleStateError(f"{what}: the module is not bound; call bind(data_shapes=...) (fit() does) first.")
        if not self.params_initialized:
            raise ModuleStateError(f"{what}: the parameters are not initialized; call init_params() (fit() does) "
                                   "or set_params() first.")


def _progress_bar(train_data, epoch):
    """A tqdm bar over batches, only when stderr is a terminal (so logs and pipes stay clean)."""
    if not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    total = None
    num_data, batch_size = getattr(train_data, "num_data", None), getattr(train_data, "batch_size", None)
    if isinstance(num_data, int) and isinstance(batch_size, int) and batch_size > 0:
        total = math.ceil(num_data / batch_size)
    return tqdm(total=total, desc=f"Epoch[{epoch}]", unit="batch", leave=False, file=sys.stderr)
