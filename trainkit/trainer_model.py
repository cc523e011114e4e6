"""The network as ``trainkit.Trainer`` sees it: ``Model``, and ``ModuleModel`` for an ``mx.mod.Module``.

A Gluon block has its own adapter, ``trainkit.gluon.adapter.BlockModel``; ``as_model`` picks one,
so the Trainer's loop reads the same for both.
"""
import json
from pathlib import Path

import numpy as np

from . import checkpoint as _ckpt
from .base import MXNetError
from .checkpoint import TrainerError


class Model:
    """What the Trainer needs of a network; ``ModuleModel`` and ``gluon.adapter.BlockModel`` implement it.

    ``forward(x)`` runs the network on a batch under the caller's autograd mode (it is the bound
    callable itself, so the loop pays nothing for the indirection). ``kind`` names the checkpoint
    layout (recorded in trainer-NNNN.json; a resume refuses another kind), ``what`` the network in
    messages.
    """

    kind = what = None
    network = forward = None
    def single_graph(self):
        """Whether ``forward`` now runs one bound graph that the compiled path reproduces exactly, and
        nothing else, so a training step can be compiled (trainkit.compiled.TracedStep)."""
        return False

    def default_context(self):
        """Where to compute when the Trainer is given no context."""
        raise NotImplementedError

    def bind(self, sample_shape, batch_size, ctx):
        """Get ready for samples of ``sample_shape`` (None: unknown); TrainerError if they do not fit."""
        raise NotImplementedError

    @property
    def ready(self):
        """Whether the parameters exist (initialised or loaded)."""
        raise NotImplementedError

    def initialize(self, initializer, ctx):
        """(Re)initialise every parameter with ``initializer`` (an mx.init.Initializer) on ``ctx``."""
        raise NotImplementedError

    @property
    def params(self):
        """Every live parameter array (auxiliary states too): an ordered ``{name: NDArray}``."""
        raise NotImplementedError

    def trainable(self):
        """``[(index, name, weight NDArray)]`` for the optimizer: the indices its .states file uses,
        the names its weight-decay rule reads, the live arrays it updates (``weight.grad`` after backward)."""
        raise NotImplementedError

    def attributes(self):
        """A Symbol (or anything with ``attr_dict()``/``list_arguments()``) whose ``__lr_mult__``/
        ``__wd_mult__`` attributes the optimizer honours, or None."""
        return None

    def save_params(self, path):
        """Write the parameters (best.params) in the network's own format."""
        raise NotImplementedError

    def summary_rows(self):
        """One dict per parameter array, in the network's order, for ``Trainer.model_summary``:
        ``layer`` (the layer that owns it, e.g. ``fc1 (FullyConnected)``), ``name``, ``shape`` and
        ``count`` (None while unknown: a deferred shape), ``trained`` (False for auxiliary states and
        ``grad_req='null'``) and ``init`` (the parameter's own initializer, as ``dumps()``, where it
        has one; None: the Trainer's initializer fills it). This default knows only the live arrays."""
        trained = {n for _, n, _ in self.trainable()}
        return [_row("", n, tuple(a.shape), n in trained, None) for n, a in self.params.items()]

    def checkpoint_files(self, number):
        """``({role: file name}, {file name: bytes})``: the network's files of checkpoint ``number``;
        role ``params`` is required (the index lists it), others are extra files of that format."""
        raise NotImplementedError

    def load_checkpoint(self, folder, files):
        """Set the parameters from the files ``checkpoint_files`` wrote (``files``: role -> name);
        CheckpointError for a damaged file, TrainerError for one that does not fit this network."""
        raise NotImplementedError


class ModuleModel(Model):
    """An ``mx.mod.Module`` for the Trainer: bound for the data, initialised with ``init_params``, saved
    as MXNet's checkpoint (``model-symbol.json`` + ``model-NNNN.params``, ``arg:``/``aux:`` names)."""

    kind, what = "module", "module"

    def single_graph(self):
        plan = self.module._plan
        return plan is not None and plan._programs is not None

    def __init__(self, module):
        self.network = self.module = module
        self.forward = module

    def default_context(self):
        return self.module._context[0]

    def bind(self, sample_shape, batch_size, ctx):
        m = self.module
        label_args = [n for n in m.label_names if n in m.symbol.list_arguments()]
        if label_args:
            raise TrainerError(f"the module's symbol reads labels {label_args} (a loss head such as SoftmaxOutput); "
                               "the Trainer computes the loss from the network's outputs. End the network with its "
                               "last FullyConnected layer and build Module(..., label_names=None).")
        if len(m.data_names) != 1:
            raise TrainerError(f"the Trainer feeds one data input, but the module has data_names={m.data_names}.")
        shape = sample_shape
        if not m.binded:
            if shape is None:
                raise TrainerError("cannot bind the module: the data does not say its sample shape; bind it "
                                   "yourself (module.bind(data_shapes=[('data', (batch, ...))])).")
            try:
                m.bind(data_shapes=[(m.data_names[0], (batch_size,) + tuple(shape))], for_training=True)
            except MXNetError as e:
                raise TrainerError(f"the data's samples have shape {tuple(shape)} ({_features(shape)} features), "
                                   f"which does not fit the module: {e}") from None
        else:
            bound = tuple(m.data_shapes[0].shape[1:])
            if shape is not None and tuple(shape) != bound:
                raise TrainerError(f"the data's samples have shape {tuple(shape)} ({_features(shape)} features), but "
                                   f"the module was bound for input '{m.data_names[0]}' of shape "
                                   f"{tuple(m.data_shapes[0].shape)} ({_features(bound)} features per sample). Use "
                                   "data with that many features, or build and bind the model for this data.")
            if not m.for_training:
                raise TrainerError("the module was bound with for_training=False; bind it with for_training=True "
                                   "(or let the Trainer bind it).")

    @property
    def ready(self):
        return self.module.binded and self.module.params_initialized

    def initialize(self, initializer, ctx):
        self.module.init_params(initializer=initializer, force_init=True)

    @property
    def params(self):
        return self.module.params

    def trainable(self):
        m = self.module
        inputs = set(m.data_names) | set(m.label_names)
        param_names = [n for n in m.symbol.list_arguments() if n not in inputs]  # Module's numbering
        live = m.trainable_params
        return [(i, n, live[n]) for i, n in enumerate(param_names) if n in live]

    def attributes(self):
        return self.module.symbol

    def save_params(self, path):
        self.module.save_params(str(path))

    def summary_rows(self):
        m = self.module
        sym = m.symbol
        inputs = set(m.data_names) | set(m.label_names)
        shapes = {}
        if m.binded:  # the shapes follow from one sample's
            sample = (1,) + tuple(m.data_shapes[0].shape[1:])
            arg_shapes, _, aux_shapes = sym.infer_shape(**{m.data_names[0]: sample})
            shapes = dict(zip(sym.list_arguments(), arg_shapes))
            shapes.update(zip(sym.list_auxiliary_states(), aux_shapes))
        trained = {n for _, n, _ in self.trainable()} if m.binded else \
            set(sym.list_arguments()) - set(m._fixed_param_names or ()) - inputs
        attrs = sym.attr_dict()
        nodes = json.loads(sym.tojson())["nodes"]
        rows, seen = [], set()
        for node in nodes:
            if node["op"] == "null":
                continue
            for source, _, _ in node["inputs"]:
                pname = nodes[source]["name"]
                if nodes[source]["op"] != "null" or pname in inputs or pname in seen:
                    continue
                seen.add(pname)
                rows.append(_row(f"{node['name']} ({node['op']})", pname, shapes.get(pname), pname in trained,
                                 attrs.get(pname, {}).get("__init__")))
        return rows

    def checkpoint_files(self, number):
        from . import serialization
        arg_params, aux_params = self.module.get_params()
        params = {f"arg:{k}": v.asnumpy() for k, v in arg_params.items()}
        params.update({f"aux:{k}": v.asnumpy() for k, v in aux_params.items()})
        names = {"symbol": f"{_ckpt.PREFIX}-symbol.json", "params": _ckpt.name("params", number)}
        return names, {names["symbol"]: self.module.symbol.tojson().encode(),
                       names["params"]: serialization.dumps(params)}

    def load_checkpoint(self, folder, files):
        path = Path(folder) / files["params"]
        arg_params, aux_params = _ckpt.load_params(path)
        _ckpt.check_saved_shapes(self.module, arg_params, aux_params, f"resume checkpoint {str(path)!r}",
                                 "trainer.resume")
        self.module.set_params(arg_params, aux_params)


def as_model(network, context=None):
    """The Model adapter for what the Trainer was given."""
    from . import module as _module, symbol as _symbol
    if isinstance(network, Model):
        return network
    if isinstance(network, _symbol.Symbol):
        network = _module.Module(network, data_names=["data"], label_names=None, context=context)
    if isinstance(network, _module.Module):
        return ModuleModel(network)
    from .gluon.block import Block
    if isinstance(network, Block):
        from .gluon.adapter import BlockModel
        return BlockModel(network)
    raise TypeError(f"Trainer needs an mx.mod.Module, an mx.sym.Symbol or a Gluon block, got "
                    f"{type(network).__name__}.")


def _row(layer, name, shape, trained, init):
    known = shape is not None and all(int(d) > 0 for d in shape)
    return {"layer": layer, "name": name, "shape": tuple(int(d) for d in shape) if shape is not None else None,
            "count": int(np.prod(shape, dtype=np.int64)) if known else None, "trained": bool(trained), "init": init}


def _features(shape):
    return int(np.prod(shape)) if shape else 1
