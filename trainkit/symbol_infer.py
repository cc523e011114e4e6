"""Shape and type inference over a Symbol's graph (``Symbol.infer_shape``/``infer_type`` and the
Executor's, Module's and ``_Plan``'s uses of them).

Shapes flow both ways: each operator's rule (``symbol_ops``/the table's ``infer=``) gives output shapes
from input shapes, and ``BACK_INFER`` rules fill unknown inputs (parameters) from the outputs; a few
passes settle variables that several layers share. 0 in a shape means an unknown size, as in MXNet.
"""
import numbers

import numpy as np

from .base import MXNetError
from .symbol_ops import BACK_INFER, _ShapeError, _literal, _p_shape, is_partial, merge_shapes

# the ``__dtype__`` attribute's type flags (MXNet's mshadow numbering)
_DTYPE_TO_FLAG = {np.dtype(np.float32): 0, np.dtype(np.float64): 1, np.dtype(np.float16): 2,
                  np.dtype(np.uint8): 3, np.dtype(np.int32): 4, np.dtype(np.int8): 5, np.dtype(np.int64): 6}
_FLAG_TO_DTYPE = {v: k for k, v in _DTYPE_TO_FLAG.items()}

def infer_shapes(symbol, args, kwargs):
    topo = symbol._topo()
    arg_names = symbol.list_arguments()
    known = {}
    if args:
        if kwargs:
            raise ValueError("infer_shape takes positional shapes or keyword shapes, not both.")
        if len(args) > len(arg_names):
            raise ValueError(f"infer_shape got {len(args)} positional shapes for {len(arg_names)} arguments "
                             f"{arg_names}.")
        known = {n: s for n, s in zip(arg_names, args) if s is not None}
    else:
        inputs = set(symbol.list_inputs())
        for k, v in kwargs.items():
            if k not in inputs:
                raise MXNetError(f"infer_shape got a shape for {k!r}, which is not an input of this symbol; its "
                                 f"inputs are {sorted(inputs)}.")
            if v is not None:
                known[k] = v
    shapes = shape_pass(symbol, topo, {k: tuple(int(d) for d in v) for k, v in known.items()})
    aux = symbol._aux_ids()
    arg = [shapes.get((id(n), 0)) for n in topo if n.op is None and id(n) not in aux]
    auxs = [shapes.get((id(n), 0)) for n in topo if n.op is None and id(n) in aux]
    out = [shapes.get((id(n), i)) for n, i in symbol._outputs]
    return arg, out, auxs


def shape_pass(symbol, topo, known):
    shapes = {}
    for n in topo:
        if n.op is not None:
            continue
        s = known.get(n.name)
        if s is None and "__shape__" in n.attrs:
            hinted = _p_shape(n.attrs["__shape__"])
            if hinted and 0 not in hinted:
                s = hinted
        if s is None and n.value is not None:
            s = tuple(n.value.shape)
        if s is None and n.shape_hint is not None:
            s = n.shape_hint
        if s is not None:
            shapes[(id(n), 0)] = tuple(s)
    defaults = {}
    for _ in range(3):  # a later layer can fix a shared variable's shape; a few passes settle it
        changed = False
        for n in topo:
            if n.op is None:
                continue
            ins = [shapes.get((id(src), idx)) for src, idx, _ in n.inputs]
            partial = any(is_partial(x) for x in ins)
            try:
                new_ins, outs = infer_node(n, list(ins))
            except _ShapeError as e:
                if not partial:
                    raise MXNetError(_shape_message(n, ins, str(e))) from None
                new_ins, outs = list(ins), [None] * n.num_visible()
            except Exception:  # noqa: BLE001 - a rule that cannot run on unknown sizes knows nothing yet
                if not partial:
                    raise
                new_ins, outs = list(ins), [None] * n.num_visible()
            if not n.inputs and _open_shape(n):  # shape=() on a zero-input layer: MXNet's unknown shape,
                defaults[id(n)] = outs                   # taken from the layers that use it when they know it
                outs = [shapes.get((id(n), i)) for i in range(len(outs))]
            outs = [merge_shapes(shapes.get((id(n), i)), o) or o for i, o in enumerate(outs)]
            back = BACK_INFER.get(n.op)
            if back is not None and any(x is None or is_partial(x) for x in new_ins) \
                    and all(o is not None for o in outs):
                new_ins = back(n.params() if n.prim is None else n.pyattrs, list(new_ins), outs)
            for (src, idx, _), old, new in zip(n.inputs, ins, new_ins):
                if new is None or old == tuple(new):
                    continue
                if old is None and src.op is None:
                    shapes[(id(src), idx)] = tuple(new)
                    changed = True
                elif old is None or is_partial(old):  # unknown sizes learnt from this layer
                    merged = merge_shapes(old, new)
                    if merged is not None and merged != old:
                        shapes[(id(src), idx)] = merged
                        changed = True
            for i, o in enumerate(outs):
                if o is not None and shapes.get((id(n), i)) != tuple(o):
                    shapes[(id(n), i)] = tuple(o)
                    changed = True
        if not changed:
            break
    for n in topo:  # a shape=() layer nothing constrains keeps the shape its own rule gives
        for i, o in enumerate(defaults.get(id(n), ())):
            if shapes.get((id(n), i)) is None and o is not None:
                shapes[(id(n), i)] = tuple(o)
    return shapes


def infer_node(node, ins):
    if node.prim is not None:
        if all(s is not None for s in ins) and node.prim.forward is not None:
            zeros = [np.zeros(s, np.float32) for s in ins]
            out = node.prim.forward(*zeros, **node.pyattrs)
            outs = [out] if node.prim.n_out == 1 else list(out)
            return ins, [o.shape for o in outs]
        return ins, [None] * node.prim.n_out
    opdef = node.opdef()
    if opdef is None:
        return ins, [None] * node.num_visible()
    return opdef.infer(node.params(), ins)


def infer_types(symbol, args, kwargs):
    topo = symbol._topo()
    arg_names = symbol.list_arguments()
    if args and kwargs:
        raise ValueError("infer_type takes positional types or keyword types, not both.")
    given = {n: t for n, t in zip(arg_names, args)} if args else dict(kwargs)
    types = {}
    for n in topo:
        if n.op is not None:
            continue
        t = given.get(n.name)
        if t is None and "__dtype__" in n.attrs:
            t = _FLAG_TO_DTYPE[int(n.attrs["__dtype__"])]
        if t is None and n.value is not None:
            t = n.value.dtype
        if t is not None:
            types[(id(n), 0)] = np.dtype(t).type
    for _ in range(3):  # a later layer can fix a shared variable's type; a few passes settle it
        changed = False
        for n in topo:
            if n.op is None:
                continue
            ins = [types.get((id(src), idx)) for src, idx, _ in n.inputs]
            known = next((t for t in ins if t is not None), None)
            if known is not None:  # untyped parameters follow the layer's data
                for (src, idx, _), t in zip(n.inputs, ins):
                    if t is None and src.op is None and src.name not in given:
                        types[(id(src), idx)] = known
                        changed = True
                ins = [types.get((id(src), idx)) for src, idx, _ in n.inputs]
            outs = infer_node_type(n, ins, known)
            for i, t in enumerate(outs):
                if t is not None and types.get((id(n), i)) != t:
                    types[(id(n), i)] = t
                    changed = True
        if not changed:
            break
    aux = symbol._aux_ids()
    arg = [types.get((id(n), 0)) for n in topo if n.op is None and id(n) not in aux]
    auxs = [types.get((id(n), 0)) for n in topo if n.op is None and id(n) in aux]
    out = [types.get((id(n), i)) for n, i in symbol._outputs]
    return arg, out, auxs


def infer_node_type(node, ins, known):
    n = node.num_visible()
    if node.prim is not None:
        return [known] * n
    opdef = node.opdef()
    p = node.params()
    if node.op in ("Cast", "cast", "amp_cast") or (opdef is not None and opdef.name in ("Cast", "cast")):
        return [np.dtype(p.get("dtype") or node.attrs.get("dtype")).type] * n
    if opdef is not None and hasattr(opdef, "infer_type"):
        if known is None and ins:
            return [None] * n
        try:
            return [np.dtype(t).type if t is not None else None for t in opdef.infer_type(p, ins)]
        except (MXNetError, TypeError, ValueError):
            return [known] * n
    if not node.inputs and "dtype" in node.attrs:
        return [np.dtype(p.get("dtype") or node.attrs["dtype"]).type] * n
    if not node.inputs:
        return [np.float32] * n
    return [known] * n


def _shape_message(node, ins, detail):
    roles = None
    opdef = node.opdef()
    if opdef is not None:
        try:
            roles = opdef.input_names(node.params())
        except MXNetError:
            roles = None
    parts = []
    for i, ((src, idx, _), shape) in enumerate(zip(node.inputs, ins)):
        role = roles[i] if roles and i < len(roles) else f"input{i}"
        label = src.name if src.op is None else src.output_names()[idx]
        parts.append(f"{role} '{label}' {tuple(shape) if shape is not None else 'unknown'}")
    return (f"Shape inconsistent in layer '{node.name}' ({node.op}): {detail}. Its inputs: {', '.join(parts)}. "
            "Fix the shape passed for the data, or leave parameter shapes out so they are inferred from the data.")


def _shape_param(node):
    """A zero-input layer's ``shape`` attribute as a tuple (None without one)."""
    if "shape" not in node.attrs:
        return None
    try:
        value = _literal(node.attrs["shape"])
    except (ValueError, SyntaxError):
        return None
    if isinstance(value, numbers.Integral):
        return (int(value),)
    return tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else None


def _open_shape(node):
    """A zero-input layer whose output shape MXNet leaves to inference: ``shape=()`` (samplers, zeros, ...)
    or ``arange(..., infer_range=True)``; the layers that use it decide it, else its own rule does."""
    if _shape_param(node) == ():
        return True
    return node.op in ("_arange", "arange") and str(node.attrs.get("infer_range", "False")) in ("True", "1", "true")
