"""A Gluon block as ``trainkit.Trainer``'s model (``trainer.Model``): the same loop, Gluon's files.

``BlockModel(block)`` is what ``Trainer(block, ...)`` wraps a ``gluon.Block`` in:

- ``forward`` is the block itself (hybridized or not, as you left it);
- ``bind`` infers deferred shapes from the data (``Dense(64)`` without ``in_units``) and checks
  that later data has the same sample shape; ``initialize`` is ``block.initialize(init, ctx,
  force_reinit=True)`` (a parameter's own ``init`` wins, as in Gluon);
- the optimizer updates every parameter with ``grad_req != 'null'``, numbered in sorted-name
  order as ``gluon.Trainer(net.collect_params(), ...)`` numbers them (so ``Trainer.load_states``
  reads the ``.states`` files), through the same ``mx.optimizer`` updater as a Module: the
  names' weight-decay rule (no decay on biases) and ``Parameter.lr_mult``/``wd_mult`` apply;
- a checkpoint is ``model-NNNN.params`` written as ``save_parameters`` does
  (``net.load_parameters(path)`` reads it) and, once the block has run hybridized,
  ``model-export-symbol.json`` + ``model-export-NNNN.params`` as ``export('model-export', NNNN)``
  writes them (``SymbolBlock.imports``, ``Module.load`` and MXNet read them); best.params is a
  ``save_parameters`` file too.
"""
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .. import autograd
from ..base import MXNetError
from ..checkpoint import PREFIX, CheckpointError, TrainerError, name as _ckpt_name
from ..context import current_context
from ..ndarray.ndarray import NDArray
from ..trainer_model import Model, _features
from .block import Block, HybridBlock

__all__ = ["BlockModel", "load_arrays"]

EXPORT_PREFIX = f"{PREFIX}-export"


class BlockModel(Model):
    """A ``gluon.Block`` (one input, class scores out) for ``trainkit.Trainer``."""

    kind, what = "gluon", "block"

    def __init__(self, block):
        if not isinstance(block, Block):
            raise TypeError(f"BlockModel needs a gluon Block, got {type(block).__name__}.")
        self.network = self.block = block
        self.forward = block
        self.sample_shape = None

    def single_graph(self):
        """A hybridized block whose graph is built (after its first call), with no forward hooks."""
        b = self.block
        graph = getattr(b, "_cached_op", None)
        return bool(getattr(b, "_active", False)) and graph is not None and graph.plan._programs is not None \
            and not b._forward_hooks and not b._forward_pre_hooks

    def _plist(self):
        return list(self.block.collect_params().values())

    def default_context(self):
        for p in self._plist():
            if p._data is not None:
                return p.list_ctx()[0]
        return current_context()

    # ----- shapes and initialisation ----------------------------------------------------------
    def bind(self, sample_shape, batch_size, ctx):
        if sample_shape is None:
            if self.sample_shape is None and not self.ready:
                raise TrainerError("cannot infer the block's parameter shapes: the data does not say its sample "
                                   "shape; give the layers their input sizes (Dense(units, in_units=...)) or "
                                   "(X, y) arrays.")
            return
        shape = tuple(int(d) for d in sample_shape)
        if self.sample_shape is not None:
            if shape != self.sample_shape:
                raise TrainerError(f"the data's samples have shape {shape} ({_features(shape)} features), but the "
                                   f"block is trained on samples of shape {self.sample_shape} "
                                   f"({_features(self.sample_shape)} features). Use data with that many features.")
            return
        self.sample_shape = shape
        if self.ready:
            for p in self._plist():
                if ctx not in p.list_ctx():
                    p.reset_ctx(ctx)
            self._trial(ctx)

    def _trial(self, ctx):
        """One forward pass on a zero sample in predict mode: finishes deferred initialisation (and traces a
        hybridized block); a block that does not fit the data says so here, before training."""
        x = NDArray(ctx.xp.zeros((1,) + self.sample_shape, dtype=np.float32), ctx)
        try:
            with autograd.pause(train_mode=False):
                out = self.block(x)
        except (MXNetError, ValueError, AssertionError, TypeError, IndexError) as e:
            raise TrainerError(f"the data's samples have shape {self.sample_shape} "
                               f"({_features(self.sample_shape)} features), which does not fit the block: "
                               f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
        if not isinstance(out, NDArray) or out.ndim != 2:
            got = f"an output of shape {out.shape}" if isinstance(out, NDArray) else f"a {type(out).__name__}"
            raise TrainerError(f"the block returns {got}; the Trainer needs one NDArray of class scores "
                               "(batch, classes).")

    @property
    def ready(self):
        return all(p._data is not None for p in self._plist())

    def initialize(self, initializer, ctx):
        self.block.initialize(initializer, ctx=ctx, force_reinit=True)
        if not self.ready:
            if self.sample_shape is None:
                raise TrainerError("cannot initialize the block: its parameter shapes wait for data whose sample "
                                   "shape is unknown.")
        if self.sample_shape is not None:
            self._trial(ctx)

    # ----- parameters and the optimizer --------------------------------------------------------
    @property
    def params(self):
        return OrderedDict((p.name, p.list_data()[0]) for p in self._plist())

    def _sorted(self):
        params = self.block.collect_params()
        return [params[k] for k in sorted(params.keys())]  # gluon.Trainer's numbering (MXNet 1.9.1)

    def trainable(self):
        return [(i, p.name, p.list_data()[0]) for i, p in enumerate(self._sorted()) if p.grad_req != "null"]

    def attributes(self):
        return _ParamAttrs(self._sorted())

    def summary_rows(self):
        from ..trainer_model import _row
        rows = []

        def walk(block, prefix):
            layer = f"{prefix} ({type(block).__name__})" if prefix else type(block).__name__
            for p in block._reg_params.values():
                shape = p.shape if p.shape is not None else None
                init = p.init.dumps() if hasattr(p.init, "dumps") else p.init  # an Initializer, a name or None
                rows.append(_row(layer, p.name, shape, p.grad_req != "null", init))
            for name, child in block._children.items():
                walk(child, f"{prefix}.{name}" if prefix else name)
        walk(self.block, "")
        return rows

    # ----- files ------------------------------------------------------------------------------
    def save_params(self, path):
        self.block.save_parameters(str(path))

    def checkpoint_files(self, number):
        from .. import serialization
        structural = self.block._collect_params_with_prefix()
        names = {"params": _ckpt_name("params", number)}
        blobs = {names["params"]: serialization.dumps({k: p._reduce().asnumpy() for k, p in structural.items()})}
        graph = getattr(self.block, "_cached_graph", None) if isinstance(self.block, HybridBlock) else None
        if graph:  # the block ran hybridized: also what export() writes
            sym = graph[1]
            args, aux = set(sym.list_arguments()), set(sym.list_auxiliary_states())
            exported = {}
            for pname, p in self.block.collect_params().items():
                if pname in args:
                    exported[f"arg:{pname}"] = p._reduce().asnumpy()
                elif pname in aux:
                    exported[f"aux:{pname}"] = p._reduce().asnumpy()
            names["export_symbol"] = f"{EXPORT_PREFIX}-symbol.json"
            names["export_params"] = f"{EXPORT_PREFIX}-{int(number):04d}.params"
            blobs[names["export_symbol"]] = sym.tojson().encode()
            blobs[names["export_params"]] = serialization.dumps(exported)
        return names, blobs

    def load_checkpoint(self, folder, files):
        path = Path(folder) / files["params"]
        saved = load_arrays(self.block, path)
        source = f"resume checkpoint {str(path)!r}"
        check_shapes(self.block, saved, source, "trainer.resume")
        params = self.block.collect_params()
        with autograd.pause():
            for pname, arr in saved.items():
                params[pname].set_data(arr)


class _ParamAttrs:
    """The parameters' ``lr_mult``/``wd_mult`` where they differ from 1, in the form the optimizer reads
    a Symbol's ``__lr_mult__``/``__wd_mult__`` attributes (so the names' bias rule still applies elsewhere)."""

    def __init__(self, params):
        self._names = [p.name for p in params]
        self._attrs = {}
        for p in params:
            for attr, key in (("lr_mult", "__lr_mult__"), ("wd_mult", "__wd_mult__")):
                value = getattr(p, attr, 1.0)
                if value is not None and float(value) != 1.0:
                    self._attrs.setdefault(p.name, {})[key] = str(float(value))

    def attr_dict(self):
        return self._attrs

    def list_arguments(self):
        return self._names


def load_arrays(block, path):
    """``{parameter name: NDArray}`` from a parameter file for ``block``: a ``save_parameters`` file
    (structural names ``0.weight``), a ``collect_params().save`` file or an export/Module file
    (``arg:``/``aux:`` names). CheckpointError when the file cannot be read."""
    from .. import nd
    try:
        loaded = nd.load(str(path))
    except (ValueError, OSError, UnicodeDecodeError) as e:
        raise CheckpointError(f"checkpoint file {str(path)!r} cannot be read as MXNet parameters: "
                              f"{str(e).splitlines()[0]}") from None
    if not isinstance(loaded, dict):
        raise CheckpointError(f"checkpoint file {str(path)!r} holds a list of arrays, not named parameters.")
    structural = {k: p.name for k, p in block._collect_params_with_prefix().items()}
    out = {}
    for key, arr in loaded.items():
        if key in structural:
            out[structural[key]] = arr
        else:
            out[key[4:] if key.startswith(("arg:", "aux:")) else key] = arr
    return out


def check_shapes(block, saved, source, key):
    """Saved arrays must be exactly this block's parameters, with their shapes; TrainerError otherwise."""
    params = block.collect_params()
    problems = []
    for pname, arr in saved.items():
        if pname not in params:
            problems.append(f"it holds {pname}, which this block does not have")
        elif params[pname].shape is not None and tuple(arr.shape) != tuple(params[pname].shape):
            problems.append(f"{pname} is {tuple(arr.shape)} there but {tuple(params[pname].shape)} in this block")
    missing = [n for n in params.keys() if n not in saved]
    if missing:
        problems.append(f"it lacks {', '.join(missing)}")
    if problems:
        raise TrainerError(f"{source} does not fit this block: {'; '.join(problems)}. Resume with the data and "
                           f"model.* settings of that run, or change {key}.")
