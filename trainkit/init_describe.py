"""``mx.init.describe`` / ``format_table``: what an initializer will do, without drawing anything.

This is the parameter table of the training app's ``dry_run=true``. For each
parameter it follows the same route as ``Initializer.__call__`` (Mixed
matching, ``__init__`` attributes, suffix rules, Load lookups) and reports the
initializer that actually fills it, with the mean and standard deviation of
the values it will produce:

* constants (Zero, One, the bias/gamma/beta rules, Constant, Bilinear,
  LSTMBias): the exact mean and std of the values (std 0 for a scalar);
* ``Uniform(scale)``: std = scale / sqrt(3);  ``Normal(sigma)``: std = sigma;
* ``Xavier``: with factor from the fans (see ``Xavier``), std =
  sqrt(magnitude / factor) for gaussian, sqrt(magnitude / factor) / sqrt(3)
  for uniform; ``MSRAPrelu`` is the gaussian case with magnitude 2/(1+slope²);
* ``Orthogonal``: the min(nout, nin) orthonormal rows/columns have unit norm,
  so the sum of squares is exactly scale²·min(nout, nin) and the root mean
  square of the nout·nin entries is scale / sqrt(max(nout, nin)); reported as
  the std (the mean is 0 in expectation);
* ``Load``: the mean and std of the loaded array;
* ``FusedRNN``: the pieces' moments pooled over the whole vector;
* an initializer with a custom rule trainkit cannot predict: None.

Errors the real initialization would raise (no Mixed pattern matches, an
unknown suffix, a Load shape mismatch) are raised here too, so a dry run
catches them before any training starts.
"""
import math
from dataclasses import dataclass
from typing import Optional

from .initializer import InitDesc, Initializer, _explain_any, create


@dataclass(frozen=True)
class ParamRow:
    """One parameter of ``describe``: how it will be initialized."""

    name: str
    shape: tuple
    init: str                 # dumps() of the initializer that fills it (e.g. '["zero", {}]' for a bias)
    pattern: Optional[str]    # the Mixed pattern that chose it ('outer > inner' when nested), else None
    rule: Optional[str]       # 'weight', 'bias', 'gamma', ..., the __init__ string, or 'load'
    mean: Optional[float]     # expected mean of the values, None if unknown
    std: Optional[float]      # expected standard deviation, None if unknown
    count: int                # number of values


def describe(initializer, shapes, attrs=None):
    """``[ParamRow]`` for ``shapes`` (an ordered dict name -> shape, or (name, shape) pairs) under ``initializer``.

    ``initializer`` is anything ``mx.init.create`` accepts. ``attrs`` maps a
    name to its attribute dict (as ``Symbol.attr_dict()`` gives), so
    ``Variable(init=...)`` overrides are honoured.
    """
    if not isinstance(initializer, Initializer) and not callable(initializer):
        initializer = create(initializer)
    attrs = attrs or {}
    rows = []
    for name, shape in (shapes.items() if hasattr(shapes, "items") else shapes):
        shape = (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)
        plan = _explain_any(initializer, InitDesc(name, attrs.get(name)), shape)
        rows.append(ParamRow(name, shape, plan.init, plan.pattern, plan.rule, plan.mean, plan.std,
                             math.prod(shape)))
    return rows


def _fmt(value):
    return "?" if value is None else f"{value:.6g}"


def format_table(rows):
    """A printable table of ``describe`` rows, ending with the total parameter count."""
    header = ("name", "shape", "init", "pattern", "mean", "std", "count")
    body = [(r.name, "x".join(map(str, r.shape)) or "()", r.init, r.pattern or "-", _fmt(r.mean), _fmt(r.std),
             f"{r.count:,}") for r in rows]
    widths = [max(len(str(line[i])) for line in [header] + body) for i in range(len(header))]
    numeric = {4, 5, 6}

    def line(cells):
        return "  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    total = sum(r.count for r in rows)
    lines = [line(header), line(["-" * w for w in widths])] + [line(b) for b in body]
    lines.append(f"total: {total:,} parameters in {len(rows)} array{'s' if len(rows) != 1 else ''}")
    return "\n".join(lines)
