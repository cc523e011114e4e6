"""What every primitive is made of, and the one broadcast-reduction helper.

A primitive is a numpy forward and a vector-Jacobian product (vjp) side by side.
Each vjp is written with trainkit ops (the NDArray functions), never raw numpy,
so running it while recording records the gradient computation itself: that is
all ``autograd.grad(..., create_graph=True)`` needs for gradients of gradients.
"""
import dis


class Primitive:
    """One differentiable operation.

    ``forward(*arrays, **attrs)`` takes and returns backend arrays (numpy or
    CuPy); ``n_out > 1`` returns a tuple. ``vjp(g, out, *inputs, **attrs)``
    gets NDArrays (``g`` and ``out`` are tuples when ``n_out > 1``) and returns
    one gradient per input, ``None`` where an input has no gradient.
    ``vjp=None`` marks a primitive with no gradient at all (comparisons, argmax).
    ``raw_vjp``, optional, is the same vjp on backend arrays (same arguments, plain arrays in and
    out, ``needs=`` always given), for the compiled path (``trainkit.compiled``): it must compute
    exactly what ``vjp`` computes, with the same primitives' forwards in the same order.
    ``forward_saving``, optional (with a raw_vjp), is the forward that also returns a value its
    gradient would otherwise compute again: ``(out, saved)``. The compiled path runs it and hands
    ``saved=`` to raw_vjp (None when the forward ran without it); the value must be exactly what
    raw_vjp would compute, and raw_vjp must not write into it (a graph may be differentiated twice).
    ``inline`` and ``inline_vjp``, optional, are the compiled forward (``forward_saving`` where the program
    saves) and ``raw_vjp`` written as lines of the program's generated code for one call site's shapes and
    attributes (``trainkit.compiled_code.Site``), or None where they do not apply there. They run exactly
    the numpy calls of the functions they stand for, so the values are the same bit for bit, without the
    functions' Python frames and argument passing (the hottest operators of a small network).
    """

    __slots__ = ("name", "forward", "vjp", "n_out", "wants_needs", "uses_out", "raw_vjp", "forward_saving",
                 "inline", "inline_vjp")

    def __init__(self, name, forward, vjp, n_out=1, raw_vjp=None, forward_saving=None):
        self.name = name
        self.forward = forward
        self.vjp = vjp
        self.n_out = n_out
        self.raw_vjp = raw_vjp
        self.forward_saving = forward_saving
        self.inline = self.inline_vjp = None
        # a vjp marked ``wants_needs`` gets needs=(bool per input) to skip products nobody uses
        self.wants_needs = getattr(vjp, "wants_needs", False)

    def __getattr__(self, name):
        # ``uses_out``: backward builds the ``out`` NDArray only for vjps whose code reads it. Found on
        # the first backward through the primitive, not at import: reading the bytecode of every
        # vjp would be a fifth of ``import trainkit``.
        if name != "uses_out":
            raise AttributeError(f"'Primitive' object has no attribute {name!r}")
        self.uses_out = _reads_name(self.vjp, "out")
        return self.uses_out

    def __repr__(self):
        return f"<Primitive {self.name}>"


def _reads_name(fn, name):
    """Whether ``fn``'s code (nested lambdas included) loads the variable ``name``; True when unsure."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return True
    codes = [code]
    while codes:
        c = codes.pop()
        if name in c.co_cellvars:
            return True
        for ins in dis.get_instructions(c):
            if ins.opname.startswith("LOAD_") and ins.argval == name:
                return True
        codes.extend(k for k in c.co_consts if hasattr(k, "co_code"))
    return False


REGISTRY = {}


def primitive(name, forward, vjp, n_out=1, raw_vjp=None, forward_saving=None):
    """Create and register a primitive under its MXNet operator name."""
    prim = Primitive(name, forward, vjp, n_out, raw_vjp, forward_saving)
    REGISTRY[name] = prim
    return prim


def unbroadcast(g, shape):
    """Sum ``g`` down to ``shape``, undoing numpy broadcasting (the one place this happens). ``g`` is an
    NDArray, or a backend array in a raw_vjp: the same ``sum`` and ``reshape`` methods, the same values."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape) if g.shape != shape else g


def wants_needs(vjp):
    """Mark a vjp that takes ``needs=`` (which inputs want a gradient) to skip products nobody uses."""
    vjp.wants_needs = True
    return vjp
