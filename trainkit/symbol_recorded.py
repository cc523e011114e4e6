"""``autograd.get_symbol``: a recorded autograd graph as a Symbol whose nodes replay the recorded primitives."""
import numbers

from . import autograd, compiled
from .base import MXNetError
from .symbol import Symbol, _Node
from .symbol_ops import _attr_str


def _recorded_attr(key, value):
    if key == "scalar" and isinstance(value, numbers.Number):
        return str(float(value))
    return _attr_str(value)


def from_recorded(head):
    """The recorded history of NDArray ``head`` as a Symbol (``autograd.get_symbol``).

    Marked variables become ``var<k>`` (their attach_grad number), recorded ops
    ``node_<k>``, and unmarked inputs ``null<k>`` variables whose values are
    captured, so ``eval(var0=...)`` recomputes ``head``.
    """
    made = {}
    keep = []  # holds the keyed objects so their ids stay unique

    def leaf(arr):
        node = arr._node
        if isinstance(node, autograd.Variable):
            key = id(node)
            if key not in made:
                made[key] = v = _Node(None, f"var{node.id}")
                v.shape_hint = tuple(arr.shape)
                keep.append(node)
            return made[key]
        key = id(arr)
        if key not in made:
            made[key] = c = _Node(None, f"null{next(autograd._var_ids)}")
            c.value = arr.asnumpy()
            keep.append(arr)
        return made[key]

    def source(x):
        """The (symbol node, output index) that recorded array ``x`` comes from."""
        node = x._node
        if isinstance(node, autograd.OpNode):
            out = made[id(node)]
            return out[x._oidx] if isinstance(out, list) else (out, x._oidx)
        return leaf(x), 0

    def constant(value):
        c = _Node(None, f"null{next(autograd._var_ids)}")
        c.value = value.copy()
        return c

    def expand(cur, program):
        """A compiled graph's node as the primitives it ran: one symbol node per step (compiled graphs run
        on the CPU, so its values are numpy arrays)."""
        slots = [None] * program.nfeed
        linked = dict(zip(cur.attrs["linked"], cur.inputs))
        vals = cur.attrs["vals"]
        for i in range(program.nfeed):
            slots[i] = source(linked[i]) if i in linked else (constant(vals[i]), 0)
        slots += [None] * (program.nslots - program.nfeed)
        for prim, ins, first, attrs in program.steps:
            if prim is None:  # a drawn Dropout mask: the value this forward used
                slots[first] = (constant(vals[first]), 0)
                continue
            n = _Node(prim.name, f"node_{next(autograd._node_ids)}",
                      {k: _recorded_attr(k, v) for k, v in attrs.items() if v is not None},
                      [slots[i] + (0,) for i in ins])
            n.prim, n.pyattrs = prim, dict(attrs)
            for k in range(prim.n_out):
                slots[first + k] = (n, k)
        return [slots[h] for h in program.heads]

    def convert(op):
        """Iterative post-order over OpNodes, so deep graphs do not hit the recursion limit."""
        stack = [op]
        while stack:
            cur = stack[-1]
            if id(cur) in made:
                stack.pop()
                continue
            if cur.inputs is None:
                raise MXNetError("get_symbol: part of this graph was freed by an earlier backward; pass "
                                 "retain_graph=True to backward to keep it.")
            pending = [x._node for x in cur.inputs
                       if isinstance(x._node, autograd.OpNode) and id(x._node) not in made]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            program = compiled.program_of(cur)
            if program is not None:
                made[id(cur)] = expand(cur, program)
                keep.append(cur)
                continue
            inputs = [source(x) + (0,) for x in cur.inputs]
            attrs = {k: _recorded_attr(k, v) for k, v in cur.attrs.items() if v is not None}
            n = _Node(cur.prim.name, f"node_{cur.id}", attrs, inputs)
            n.prim, n.pyattrs = cur.prim, dict(cur.attrs)
            made[id(cur)] = n
            keep.append(cur)
        return made[id(op)]

    if isinstance(head._node, autograd.OpNode):
        convert(head._node)
        return Symbol([source(head)])
    return Symbol([(leaf(head), 0)])
