"""``autograd.get_symbol``: a recorded autograd graph as a Symbol whose nodes replay the recorded primitives."""
import numbers

from . import autograd
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
            inputs = []
            for x in cur.inputs:
                src = made[id(x._node)] if isinstance(x._node, autograd.OpNode) else leaf(x)
                inputs.append((src, x._oidx if isinstance(x._node, autograd.OpNode) else 0, 0))
            attrs = {k: _recorded_attr(k, v) for k, v in cur.attrs.items() if v is not None}
            n = _Node(cur.prim.name, f"node_{cur.id}", attrs, inputs)
            n.prim, n.pyattrs = cur.prim, dict(cur.attrs)
            made[id(cur)] = n
            keep.append(cur)
        return made[id(op)]

    if isinstance(head._node, autograd.OpNode):
        return Symbol([(convert(head._node), head._oidx)])
    return Symbol([(leaf(head), 0)])
