"""``gluon.Trainer``: applies an ``mx.optimizer`` to a set of Parameters after ``backward``.

``step(batch_size)`` rescales gradients by ``1 / batch_size`` (times ``rescale_grad``),
then updates each parameter through ``mx.optimizer.get_updater``, so the update
maths and the per-parameter ``lr_mult``/``wd_mult`` are exactly the optimizers'.
trainkit runs on one process and device set, so ``kvstore`` is accepted and
gradients are summed across a parameter's copies in place (``allreduce_grads``).
"""
from .. import optimizer as opt
from ..autograd import Variable
from .parameter import Parameter, ParameterDict

__all__ = ["Trainer"]


class Trainer:
    """``Trainer(params, optimizer, optimizer_params=None, kvstore='device', ...)``."""

    def __init__(self, params, optimizer, optimizer_params=None, kvstore="device", compression_params=None,
                 update_on_kvstore=None):
        if isinstance(params, (dict, ParameterDict)):
            params = [params[key] for key in sorted(params.keys())]
        if not isinstance(params, (list, tuple)):
            raise ValueError(f"First argument must be a list or dict of Parameters, got {type(params)}.")
        self._params = []
        self._param2idx = {}
        for i, param in enumerate(params):
            if not isinstance(param, Parameter):
                raise ValueError(f"First argument must be a list or dict of Parameters, got list of {type(param)}.")
            if param.name in self._param2idx:
                raise ValueError(f"Parameter '{param.name}' is given twice to the Trainer.")
            self._param2idx[param.name] = i
            self._params.append(param)
            param._set_trainer(self)
        optimizer_params = dict(optimizer_params) if optimizer_params else {}
        self._compression_params = compression_params
        self._scale = float(optimizer_params.get("rescale_grad", 1.0))
        self._kvstore_params = {"kvstore": kvstore, "update_on_kvstore": update_on_kvstore}
        self._kvstore = None
        self._update_on_kvstore = update_on_kvstore  # None until a kvstore decides, as in MXNet
        self._kv_initialized = False
        self._contexts = self._check_contexts()
        self._init_optimizer(optimizer, optimizer_params)

    def _check_contexts(self):
        contexts = None
        for param in self._params:
            ctx = param.list_ctx()
            if contexts is not None and contexts != ctx:
                raise ValueError(f"All Parameters must be initialized on the same set of contexts, but Parameter "
                                 f"{param.name} is initialized on {ctx} while previous Parameters are initialized "
                                 f"on {contexts}.")
            contexts = ctx
        return contexts or []

    def _init_optimizer(self, optimizer, optimizer_params):
        param_dict = dict(enumerate(self._params))
        if isinstance(optimizer, opt.Optimizer):
            if optimizer_params:
                raise AssertionError("optimizer_params must be None if optimizer is an instance of Optimizer "
                                     "instead of str")
            self._optimizer = optimizer
            self._optimizer.param_dict = param_dict
        else:
            self._optimizer = opt.create(optimizer, param_dict=param_dict, **optimizer_params)
        # one updater (one set of states) per context, each fed that context's copy of the reduced gradient
        self._updaters = [opt.get_updater(self._optimizer) for _ in self._contexts or [None]]

    @property
    def learning_rate(self):
        if not isinstance(self._optimizer, opt.Optimizer):
            raise UserWarning("Optimizer has to be defined before its learning rate can be accessed.")
        return self._optimizer.learning_rate

    @property
    def optimizer(self):
        if not isinstance(self._optimizer, opt.Optimizer):
            raise UserWarning("Optimizer has not been initialized yet")
        return self._optimizer

    def set_learning_rate(self, lr):
        """Set a new learning rate (an lr_scheduler, if any, refuses as MXNet's does)."""
        if not isinstance(self._optimizer, opt.Optimizer):
            raise UserWarning("Optimizer has to be defined before its learning rate is mutated.")
        self._optimizer.set_learning_rate(lr)

    def _init_kvstore(self):
        # single process: there is nothing to synchronize; the name is kept for MXNet's bookkeeping
        self._kv_initialized = True

    def step(self, batch_size, ignore_stale_grad=False):
        """Reduce gradients, then update every parameter with gradients scaled by ``1/batch_size``."""
        self._optimizer.rescale_grad = self._scale / batch_size
        if not self._kv_initialized:
            self._init_kvstore()
        self._allreduce_grads()
        self._update(ignore_stale_grad)

    def allreduce_grads(self):
        """Sum each parameter's gradients over its contexts (call ``update`` afterwards)."""
        if not self._kv_initialized:
            self._init_kvstore()
        if self._kvstore and self._update_on_kvstore:
            raise AssertionError("allreduce_grads() when parameters are updated on kvstore is not supported. Try "
                                 "setting `update_on_kvstore` to False when creating trainer.")
        self._allreduce_grads()

    def _allreduce_grads(self):
        if len(self._contexts) < 2:
            return  # one copy per parameter: nothing to reduce
        for param in self._params:
            if param.grad_req == "null" or param._grad is None or len(param._grad) < 2:
                continue
            grads = param.list_grad()
            total = sum(g.asnumpy() for g in grads)
            for g in grads:
                g._data[...] = g._ctx.xp.asarray(total)

    def update(self, batch_size, ignore_stale_grad=False):
        """The update half of ``step`` (after ``allreduce_grads``)."""
        if not self._kv_initialized:
            self._init_kvstore()
        if self._kvstore and self._update_on_kvstore:
            raise AssertionError("update() when parameters are updated on kvstore is not supported. Try setting "
                                 "`update_on_kvstore` to False when creating trainer.")
        self._optimizer.rescale_grad = self._scale / batch_size
        self._update(ignore_stale_grad)

    def _update(self, ignore_stale_grad=False):
        updates = [([], [], []) for _ in self._updaters]  # per device: indices, gradients, weights
        for i, param in enumerate(self._params):
            grads = param._grad  # the lists themselves (a gradient list implies grad_req != 'null' and data)
            if grads is None:
                if param.grad_req == "null":
                    continue
                grads = param.list_grad()  # for its error: not initialized yet
            for (indices, gs, ws), arr, grad in zip(updates, param._data, grads):
                node = arr._node  # a Variable (attach_grad) whose `fresh` says backward wrote its gradient
                if type(node) is Variable and node.fresh:
                    indices.append(i)
                    gs.append(grad)
                    ws.append(arr)
                    node.fresh = False
                elif not ignore_stale_grad:
                    _stale(param, arr)
        for updater, device_update in zip(self._updaters, updates):
            if device_update[0]:
                updater(*device_update)

    def save_states(self, fname):
        """Write the optimizer states (and the optimizer: counts, schedule) to ``fname``."""
        if not self._kv_initialized:
            self._init_kvstore()
        with open(fname, "wb") as fout:
            fout.write(self._updaters[0].get_states(dump_optimizer=True))

    def load_states(self, fname):
        """Restore what ``save_states`` wrote."""
        if not self._kv_initialized:
            self._init_kvstore()
        with open(fname, "rb") as f:
            states = f.read()
        for updater in self._updaters:
            updater.set_states(states)
            updater.optimizer = self._updaters[0].optimizer
        self._optimizer = self._updaters[0].optimizer
        self._optimizer.param_dict = dict(enumerate(self._params))


def _stale(param, data):
    raise UserWarning(
        f"Gradient of Parameter `{param.name}` on context {data.context} has not been updated by backward since "
        "last `step`. This could mean a bug in your model that made it only use a subset of the Parameters "
        "(Blocks) for this iteration. If you are intentionally only using a subset, call step with "
        "ignore_stale_grad=True to suppress this warning and skip updating of Parameters with stale gradient")
