"""Gluon's ``SymbolBlock``: a block made from a Symbol, e.g. ``SymbolBlock.imports`` of exported files."""
import copy

from ._graph import _Graph, _flatten, _regroup, _symbol_module
from .block import HybridBlock
from .parameter import ParameterDict
from ..ndarray.ndarray import NDArray

__all__ = ["SymbolBlock"]


class SymbolBlock(HybridBlock):
    """A block made from a Symbol (``outputs``) and its input variables; the other arguments are parameters."""

    @staticmethod
    def imports(symbol_file, input_names, param_file=None, ctx=None, allow_missing=False, ignore_extra=False):
        """Load ``export``'s (or MXNet's / Module's) ``-symbol.json`` and ``.params`` files as a block."""
        symbol = _symbol_module()
        sym = symbol.load(symbol_file)
        if isinstance(input_names, str):
            input_names = [input_names]
        inputs = [symbol.var(i) for i in input_names]
        ret = SymbolBlock(sym, inputs)
        if param_file is not None:
            ret.collect_params().load(param_file, ctx=ctx, allow_missing=allow_missing, ignore_extra=ignore_extra,
                                      cast_dtype=True, dtype_source="saved")
        return ret

    def __repr__(self):
        s = "{name}(\n{modstr}\n)"
        modstr = "\n".join([f"  {self._cached_graph[1].list_outputs()}"]) if self._cached_graph else ""
        return s.format(name=self.__class__.__name__, modstr=modstr)

    def __init__(self, outputs, inputs, params=None):
        super().__init__(prefix=None, params=None)
        symbol = _symbol_module()
        self._prefix = ""
        self._params = ParameterDict("", params)
        if isinstance(inputs, symbol.Symbol) and len(inputs) == 1:
            inputs = [inputs]
        if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
            outputs = outputs[0]
        syms, self._in_format = _flatten(inputs, "input")
        out, self._out_format = _flatten(outputs, "output")
        out = symbol.Group(out) if len(out) > 1 or not isinstance(out[0], symbol.Symbol) else out[0]
        input_names = set()
        for i in syms:
            if len(i.get_internals().list_outputs()) != 1 or i.list_arguments() != [i.name]:
                raise AssertionError(f"Input symbols must be variable, but {i} is an output of operators")
            input_names.add(i.name)
        arg_params = out.list_arguments()
        aux_params = out.list_auxiliary_states()
        for name in arg_params:
            if name not in input_names:
                self.params.get(name, allow_deferred_init=True)
        for name in aux_params:
            if name not in input_names:
                self.params.get(name, grad_req="null", allow_deferred_init=True)
        self._cached_graph = syms, out
        self._reg_params = dict(self.params.items())
        self._active = True
        self._input_names = [i.name for i in syms]

    def forward(self, x, *args):
        symbol = _symbol_module()
        if isinstance(x, NDArray):
            ctx = x.context
            flat = [a for a in _flatten([x] + list(args), "input")[0] if a is not None]
            if not self._params_ready(ctx):
                self._deferred_infer_shape(x, *args)
                for p in self.params.values():
                    p._finish_deferred_init()
            if self._cached_op is None:
                self._cached_op = _Graph(self._cached_graph[1], self._input_names,
                                         {p.name: p for p in self.params.values()})
            outs = self._cached_op.run(flat, ctx)
            if len(outs) == 1 and self._out_format == 0:
                return outs[0]
            return _regroup(outs, self._out_format)[0]
        if not isinstance(x, symbol.Symbol):
            raise TypeError(f"SymbolBlock takes NDArrays or Symbols, got {type(x).__name__}.")
        args, in_fmt = _flatten([x] + list(args), "input")
        if in_fmt != self._in_format:
            raise AssertionError("Invalid input format")
        ret = self._cached_graph[1].__copy__()
        return _compose(ret, dict(zip(self._input_names, args)))

    def _clear_cached_op(self):
        graph = getattr(self, "_cached_graph", ())
        super()._clear_cached_op()
        self._cached_graph = graph

    def cast(self, dtype):
        self._clear_cached_op()
        super().cast(dtype)

    def hybridize(self, active=True, **kwargs):
        """A SymbolBlock always runs its graph."""

    def hybrid_forward(self, F, x, *args, **kwargs):
        raise NotImplementedError


def _compose(sym, replacements):
    """A copy of ``sym`` whose variables named in ``replacements`` are replaced by those symbols' heads."""
    clone = copy.deepcopy(sym)
    for node in clone._topo():
        node.inputs = [(*replacements[src.name]._outputs[0], ver) if src.op is None and src.name in replacements
                       else (src, idx, ver) for src, idx, ver in node.inputs]
    outs = [replacements[n.name]._outputs[0] if n.op is None and n.name in replacements else (n, i)
            for n, i in clone._outputs]
    return type(sym)(outs)
