"""``mx.mod.BucketingModule``: one Module per bucket key, all sharing one set of parameters.

``sym_gen(key)`` returns ``(symbol, data_names, label_names)`` for a bucket
(e.g. a sequence length). ``bind`` makes the default bucket's Module; a batch
with another ``bucket_key`` (or ``switch_bucket``) makes that bucket's Module,
bound with ``shared_module`` = the default one, so parameters with the same
name are the same arrays and one optimizer (borrowed from the default bucket)
updates them all.
"""
import logging
import warnings

from ..base import MXNetError
from .base_module import BaseModule, ModuleStateError
from ..context import cpu
from .module import Module

__all__ = ["BucketingModule"]


class BucketingModule(BaseModule):
    """Modules for several bucket keys over shared parameters (MXNet's ``mx.mod.BucketingModule``)."""

    def __init__(self, sym_gen, default_bucket_key=None, logger=logging, context=cpu(), work_load_list=None,
                 fixed_param_names=None, state_names=None, group2ctxs=None, compression_params=None):
        super().__init__(logger=logger)
        if default_bucket_key is None:
            raise ModuleStateError("BucketingModule needs default_bucket_key: the key whose symbol is the largest "
                                   "bucket (its Module is bound first and shares its parameters).")
        if not callable(sym_gen):
            raise TypeError(f"sym_gen must be a function key -> (symbol, data_names, label_names), got "
                            f"{type(sym_gen).__name__}.")
        self._default_bucket_key = default_bucket_key
        self._sym_gen = sym_gen
        symbol, data_names, label_names = self._call_sym_gen(default_bucket_key)
        self._check_names(symbol, data_names, label_names, state_names, fixed_param_names)
        self._fixed_param_names = fixed_param_names
        self._state_names = state_names
        self._context = context
        self._work_load_list = work_load_list
        self._group2ctxs = group2ctxs
        self._compression_params = compression_params
        self._buckets = {}
        self._curr_module = None
        self._curr_bucket_key = None
        self._params_dirty = False
        self._monitor = None
        self._grad_req = None
        self._arg_params = self._aux_params = None

    def _call_sym_gen(self, key):
        out = self._sym_gen(key)
        if not (isinstance(out, tuple) and len(out) == 3):
            raise MXNetError(f"sym_gen({key!r}) must return (symbol, data_names, label_names), got {out!r}.")
        symbol, data_names, label_names = out
        data_names = list(data_names) if data_names is not None else []
        label_names = list(label_names) if label_names is not None else []
        return symbol, data_names, label_names

    @staticmethod
    def _check_names(symbol, data_names, label_names, state_names, fixed_param_names):
        args = symbol.list_arguments()
        for kind, names, throw in (("data", data_names, True), ("label", label_names, False),
                                   ("state", state_names or [], True), ("fixed_param", fixed_param_names or [], True)):
            for n in names:
                if n not in args:
                    msg = (f"BucketingModule: {kind} name '{n}' is not an argument of the default bucket's symbol "
                           f"(its arguments: {args}).")
                    if throw:
                        raise ValueError(msg)
                    warnings.warn(msg, stacklevel=3)

    def _reset_bind(self):
        self.binded = False
        self._buckets = {}
        self._curr_module = None
        self._curr_bucket_key = None

    # ----- properties --------------------------------------------------------------------------
    @property
    def data_names(self):
        if self.binded:
            return self._curr_module.data_names
        return self._call_sym_gen(self._default_bucket_key)[1]

    @property
    def output_names(self):
        if self.binded:
            return self._curr_module.output_names
        return self._call_sym_gen(self._default_bucket_key)[0].list_outputs()

    @property
    def data_shapes(self):
        self._need_bound("data_shapes")
        return self._curr_module.data_shapes

    @property
    def label_shapes(self):
        self._need_bound("label_shapes")
        return self._curr_module.label_shapes

    @property
    def output_shapes(self):
        self._need_bound("output_shapes")
        return self._curr_module.output_shapes

    @property
    def symbol(self):
        """The current bucket's symbol."""
        self._need_bound("symbol")
        return self._curr_module.symbol

    def _need_bound(self, what):
        if not self.binded:
            raise ModuleStateError(f"{what}: the BucketingModule is not bound yet; call bind(data_shapes=...) first.")

    # ----- parameters --------------------------------------------------------------------------
    def get_params(self):
        self._need_bound("get_params")
        self._curr_module._params_dirty = self._params_dirty
        params = self._curr_module.get_params()
        self._params_dirty = False
        return params

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True, allow_extra=False):
        if not allow_missing:
            self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                             allow_missing=allow_missing, force_init=force_init, allow_extra=allow_extra)
            return
        if self.params_initialized and not force_init:
            warnings.warn("Parameters already initialized and force_init=False. set_params call ignored.",
                          stacklevel=2)
            return
        self._curr_module.set_params(arg_params, aux_params, allow_missing=allow_missing, force_init=force_init,
                                     allow_extra=allow_extra)
        self._params_dirty = True
        self.params_initialized = True

    def init_params(self, initializer=None, arg_params=None, aux_params=None, allow_missing=False,
                    force_init=False, allow_extra=False):
        if self.params_initialized and not force_init:
            return
        if not self.binded:
            raise ModuleStateError("call bind before initializing the parameters")
        from .. import initializer as _init
        if initializer is None and arg_params is None and aux_params is None:
            initializer = _init.Uniform(0.01)
        self._curr_module.init_params(initializer=initializer, arg_params=arg_params, aux_params=aux_params,
                                      allow_missing=allow_missing, force_init=force_init, allow_extra=allow_extra)
        self._params_dirty = False
        self.params_initialized = True

    def get_states(self, merge_multi_context=True):
        self._check_ready("get_states")
        return self._curr_module.get_states(merge_multi_context=merge_multi_context)

    def set_states(self, states=None, value=None):
        self._check_ready("set_states")
        self._curr_module.set_states(states, value)

    # ----- binding and buckets -----------------------------------------------------------------
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False, force_rebind=False,
             shared_module=None, grad_req="write"):
        """Bind the default bucket's Module (the others are made on first use)."""
        if self.params_initialized:  # kept across a rebind, or loaded by BucketingModule.load
            arg_params, aux_params = self.get_params() if self.binded else (self._arg_params, self._aux_params)
        if force_rebind:
            self._reset_bind()
        if self.binded:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if shared_module is not None:
            raise MXNetError("BucketingModule.bind does not take shared_module: its buckets share the default "
                             "bucket's parameters already.")
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._grad_req = grad_req
        symbol, data_names, label_names = self._call_sym_gen(self._default_bucket_key)
        module = self._new_module(symbol, data_names, label_names, self._default_bucket_key)
        module.bind(data_shapes, label_shapes, for_training, inputs_need_grad, force_rebind=False,
                    shared_module=None, grad_req=grad_req)
        self._curr_module = module
        self._curr_bucket_key = self._default_bucket_key
        self._buckets[self._default_bucket_key] = module
        self.binded = True
        if self.params_initialized:
            self.set_params(arg_params, aux_params)

    def _new_module(self, symbol, data_names, label_names, key):
        group2ctxs = self._group2ctxs
        return Module(symbol, data_names, label_names or None, logger=self.logger, context=self._context,
                      work_load_list=self._work_load_list, fixed_param_names=self._fixed_param_names,
                      state_names=self._state_names, group2ctxs=group2ctxs,
                      compression_params=self._compression_params)

    def switch_bucket(self, bucket_key, data_shapes, label_shapes=None):
        """Make ``bucket_key`` current, creating (and binding, sharing parameters) its Module if needed."""
        if not self.binded:
            raise ModuleStateError("call bind before switching bucket")
        if bucket_key not in self._buckets:
            if data_shapes is None:
                raise MXNetError(f"switch_bucket: bucket {bucket_key!r} does not exist yet; pass its data_shapes.")
            symbol, data_names, label_names = self._call_sym_gen(bucket_key)
            module = self._new_module(symbol, data_names, label_names, bucket_key)
            default = self._buckets[self._default_bucket_key]
            module.bind(data_shapes, label_shapes, self._curr_module.for_training,
                        self._curr_module.inputs_need_grad, force_rebind=False, shared_module=default,
                        grad_req=self._grad_req)
            if self._monitor is not None:
                module.install_monitor(self._monitor)
            if self.optimizer_initialized:
                module.borrow_optimizer(default)
            self._buckets[bucket_key] = module
        self._curr_module = self._buckets[bucket_key]
        self._curr_bucket_key = bucket_key

    # ----- training ----------------------------------------------------------------------------
    def init_optimizer(self, kvstore="local", optimizer="sgd", optimizer_params=(("learning_rate", 0.01),),
                       force_init=False):
        """One optimizer, made on the current bucket's Module and borrowed by every other bucket."""
        self._check_ready("init_optimizer")
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring.")
            return
        self._curr_module.init_optimizer(kvstore, optimizer, optimizer_params, force_init=force_init)
        for module in self._buckets.values():
            if module is not self._curr_module:
                module.borrow_optimizer(self._curr_module)
        self.optimizer_initialized = True

    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Make sure the batch's bucket exists (the current bucket stays current)."""
        self._check_ready("prepare")
        original = self._curr_bucket_key
        self.switch_bucket(data_batch.bucket_key, data_batch.provide_data, data_batch.provide_label)
        self._curr_module.prepare(data_batch, sparse_row_id_fn=sparse_row_id_fn)
        self.switch_bucket(original, None, None)

    def forward(self, data_batch, is_train=None):
        """Switch to the batch's ``bucket_key`` (the default one when it has none) and run its forward."""
        self._check_ready("forward")
        key = getattr(data_batch, "bucket_key", None)
        if key is None:
            key = self._curr_bucket_key
        provide_data = getattr(data_batch, "provide_data", None)
        if provide_data is None:
            provide_data = [(n, a.shape) for n, a in zip(self._curr_module.data_names, data_batch.data)]
        provide_label = getattr(data_batch, "provide_label", None)
        self.switch_bucket(key, provide_data, provide_label)
        self._curr_module.forward(data_batch, is_train=is_train)

    def backward(self, out_grads=None):
        self._check_ready("backward")
        self._curr_module.backward(out_grads=out_grads)

    def update(self):
        self._check_ready("update")
        if not self.optimizer_initialized:
            raise ModuleStateError("update() needs an optimizer: call init_optimizer() (fit() does) first.")
        self._params_dirty = True
        self._curr_module.update()

    def get_outputs(self, merge_multi_context=True):
        self._check_ready("get_outputs")
        return self._curr_module.get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context=True):
        self._check_ready("get_input_grads")
        if not self.inputs_need_grad:
            raise ModuleStateError("get_input_grads needs bind(..., inputs_need_grad=True).")
        return self._curr_module.get_input_grads(merge_multi_context=merge_multi_context)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        self._check_ready("update_metric")
        self._curr_module.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon):
        self._need_bound("install_monitor")
        self._monitor = mon
        for module in self._buckets.values():
            module.install_monitor(mon)

    # ----- files -------------------------------------------------------------------------------
    def save_checkpoint(self, prefix, epoch, remove_amp_cast=False):
        """The default bucket's ``prefix-symbol.json`` and the shared ``prefix-%04d.params``."""
        self._need_bound("save_checkpoint")
        self._buckets[self._default_bucket_key].save_checkpoint(prefix, epoch, remove_amp_cast=remove_amp_cast)

    @staticmethod
    def load(prefix, epoch, sym_gen=None, default_bucket_key=None, **kwargs):
        """A BucketingModule whose parameters come from ``prefix-%04d.params`` (set at bind)."""
        from ..model import load_checkpoint
        if sym_gen is None or default_bucket_key is None:
            raise MXNetError("BucketingModule.load needs sym_gen and default_bucket_key.")
        _, args, auxs = load_checkpoint(prefix, epoch)
        mod = BucketingModule(sym_gen=sym_gen, default_bucket_key=default_bucket_key, **kwargs)
        mod._arg_params, mod._aux_params = args, auxs
        mod.params_initialized = True
        return mod
