"""Passes over a Symbol's graph that do not run it: MXNet's ``debug_str`` text and common
subexpression elimination (what ``Executor.get_optimized_symbol`` shows)."""
from .symbol import Symbol, _Node, _create

__all__ = []


def _debug_str(symbol):
    """MXNet's ``debug_str`` layout for the forward graph: outputs, then each node in order."""
    lines = ["Symbol Outputs:"]
    for i, (node, idx) in enumerate(symbol._outputs):
        lines.append(f"\toutput[{i}]={node.name}({idx})")
    for n in symbol._topo():
        if n.op is None:
            lines.append(f"Variable:{n.name}")
            continue
        lines.append("--------------------")
        lines.append(f"Op:{n.op}, Name={n.name}")
        lines.append("Inputs:")
        for j, (src, idx, ver) in enumerate(n.inputs):
            extra = f" version={ver}" if src.op is None else ""
            lines.append(f"\targ[{j}]={src.name}({idx}){extra}")
        plain = {k: v for k, v in n.attrs.items() if not k.startswith("__")}
        if plain:
            lines.append("Attrs:")
            lines.extend(f"\t{k}={v}" for k, v in plain.items())
    return "\n".join(lines) + "\n"


_NO_CSE = ("Dropout", "BatchNorm", "Custom", "SoftmaxOutput")


def _eliminate_common_expr(symbol):
    """A copy of ``symbol`` where operator nodes with the same op, attributes and inputs are merged.

    Random and stateful operators are never merged. Heads that end up naming the
    same value get a ``_copy`` each after the first, so the outputs stay distinct
    arrays (MXNet does the same).
    """
    canon, seen = {}, {}
    for n in symbol._topo():
        if n.op is None:
            canon[id(n)] = n
            continue
        ins = [(canon[id(src)], idx, ver) for src, idx, ver in n.inputs]
        mergeable = (n.prim is None and n.op not in _NO_CSE
                     and not n.op.startswith(("_random_", "_sample_", "random_", "sample_")))
        key = (n.op, tuple(sorted(n.attrs.items())), tuple((id(c), idx) for c, idx, _ in ins)) if mergeable else None
        if key is not None and key in seen:
            canon[id(n)] = seen[key]
            continue
        c = _Node(n.op, n.name, dict(n.attrs), ins)
        c.prim, c.pyattrs, c.value, c.shape_hint, c.version = n.prim, n.pyattrs, n.value, n.shape_hint, n.version
        canon[id(n)] = c
        if key is not None:
            seen[key] = c
    outs, used = [], set()
    for n, i in symbol._outputs:
        entry = (canon[id(n)], i)
        if (id(entry[0]), i) in used:
            entry = _create("_copy", {"data": Symbol([entry])}, {})._outputs[0]
        used.add((id(entry[0]), entry[1]))
        outs.append(entry)
    return Symbol(outs)
