"""What a hybridized block runs: argument flattening (MXNet's ``_flatten``/``_regroup``) and the traced graph.

A ``_Graph`` holds the Symbol that ``hybridize`` traced and its ``symbol._Plan``; each
call fills the plan's variable slots with the inputs and the parameters' current
data and runs the plan: its compiled program for these shapes (``trainkit.compiled``,
one autograd node for the whole graph, the same values), or else the same ``mx.nd``
operators imperative code would. Either way gradients reach the Parameters.
"""
from .. import ndarray as _ndarray
from ..base import MXNetError
from ..ndarray.ndarray import NDArray

_SYMBOL = []


def _symbol_module():
    """``mx.sym``, imported on first use (importing it at load time would make ``import trainkit`` slower)."""
    if not _SYMBOL:
        from .. import symbol
        _SYMBOL.append(symbol)
    return _SYMBOL[0]


def _nd_module():
    return _ndarray


def _flatten(args, inout_str):
    """Nested lists of arrays -> flat list and a format to rebuild them (MXNet's ``_flatten``)."""
    if isinstance(args, (NDArray, _symbol_module().Symbol)):
        if isinstance(args, _symbol_module().Symbol) and len(args) != 1 and inout_str == "output":
            return list(args), int(len(args))
        return [args], int(0)
    if args is None:
        return [None], int(-1)
    if not isinstance(args, (list, tuple)):
        raise ValueError(f"When hybridized, the {inout_str} of HybridBlock must be (nested) list of Symbol or "
                         f"NDArray, but got {args} of type {type(args)}")
    flat, fmts = [], []
    for i in args:
        arg, fmt = _flatten(i, inout_str)
        flat.extend(arg)
        fmts.append(fmt)
    return flat, fmts


def _gather(args):
    """Every array in (nested lists of) ``args``; other values (numbers, None) are skipped."""
    out = []
    for a in args:
        if isinstance(a, (list, tuple)):
            out.extend(_gather(a))
        else:
            out.append(a)
    return out


def _device_of(arr):
    """A hybridized block takes inputs from one device; cpu and cpu_pinned count as one (as MXNet)."""
    ctx = arr.context
    return ("cpu", 0) if ctx.device_type in ("cpu", "cpu_pinned") and ctx.device_id == 0 else \
        (ctx.device_type, ctx.device_id)


def _formats_agree(stored, given):
    """Whether a call's argument structure fits the traced one (trailing ``None``s may stand for defaults)."""
    if stored == given:
        return True
    if not isinstance(stored, list) or not isinstance(given, list):
        return False
    short, long_ = (given, stored) if len(stored) > len(given) else (stored, given)
    return long_[:len(short)] == short and all(f == -1 for f in long_[len(short):])


def _regroup(args, fmt):
    if isinstance(fmt, int):
        if fmt == 0:
            return args[0], args[1:]
        if fmt == -1:
            return None, args[1:]
        return args[:fmt], args[fmt:]
    ret = []
    for i in fmt:
        res, args = _regroup(args, i)
        ret.append(res)
    return ret, args


class _Graph:
    """A traced symbol ready to run: which plan slot takes which input or parameter."""

    def __init__(self, symbol, input_names, params):
        self.symbol = symbol
        self.plan = symbol._plan()
        positions = {n: i for i, n in enumerate(input_names)}
        self.sources = []
        for name in self.plan.var_names:
            if name in positions:
                self.sources.append((True, positions[name]))
            elif name in params:
                self.sources.append((False, params[name]))
            else:
                raise MXNetError(f"the traced graph reads '{name}', which is neither an input "
                                 f"({list(input_names)}) nor a parameter of the block.")

    def run(self, args, ctx):
        feed = []
        for is_input, src in self.sources:
            if is_input:
                feed.append(args[src])
                continue
            data = src._data
            # the common case, one copy on the input's device, without data()'s lookup
            if data is not None and len(data) == 1 and (data[0]._ctx is ctx or data[0]._ctx == ctx):
                feed.append(data[0])
            else:
                feed.append(src.data(ctx))
        return self.plan.run(feed)


_TRACE_ERRORS = (AttributeError, TypeError, NotImplementedError, MXNetError, KeyError, ValueError)
