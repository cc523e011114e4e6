"""The one operator table: every operator's signature, declared once beside its code.

``@operator(...)`` on an ``mx.nd`` function records which of its arguments are
arrays (inputs, auxiliary states) and which are attributes; ``mx.nd`` exports
every registered name, and ``mx.sym`` (and Gluon's ``F``) are built from the
same entries, so an operator written once exists in all of them.
"""
import inspect

OPERATORS = {}


class OpSpec:
    """One operator as the table knows it.

    ``inputs``: names of the array arguments in order; a name starting with
    ``*`` is variadic (``concat(*data)``). ``aux``: the inputs that are
    auxiliary states (BatchNorm's moving statistics). ``params``: every other
    keyword argument with its default. ``infer``: an optional shape rule
    ``infer(attrs, in_shapes) -> (in_shapes, out_shapes)`` for operators whose
    parameter shapes follow from the data (FullyConnected's weight); without
    one, output shapes come from running the operator on zeros.
    ``num_outputs``: an int, or a function of the attributes.
    """

    __slots__ = ("name", "fn", "inputs", "aux", "params", "infer", "num_outputs", "hint", "aliases")

    def __init__(self, name, fn, inputs, aux, infer, num_outputs, hint, aliases):
        self.name = name
        self.fn = fn
        self.inputs = tuple(inputs)
        self.aux = tuple(aux)
        self.infer = infer
        self.num_outputs = num_outputs
        self.hint = hint or name.lower()
        self.aliases = tuple(aliases)
        array_args = {i.lstrip("*") for i in self.inputs}
        self.params = {p.name: p.default for p in inspect.signature(fn).parameters.values()
                       if p.name not in array_args and p.name not in ("name", "out", "attr", "ctx")
                       and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}

    def __repr__(self):
        return f"<operator {self.name}({', '.join(self.inputs)})>"


def operator(inputs=("data",), *, name=None, aux=(), infer=None, num_outputs=1, hint=None, aliases=()):
    """Register the decorated ``mx.nd`` function as an operator (under ``name``, default its own)."""
    def register(fn):
        spec = OpSpec(name or fn.__name__, fn, inputs, aux, infer, num_outputs, hint, aliases)
        for key in (spec.name,) + spec.aliases:
            OPERATORS[key] = spec
        fn.op_spec = spec
        return fn
    return register
