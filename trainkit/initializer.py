"""Initializers: MXNet 1.9.1's ``mx.init`` / ``mx.initializer``.

An initializer is called as ``init(desc, arr)`` and fills the NDArray ``arr``
in place. Which rule applies is chosen from the parameter name, exactly as in
MXNet (``spec/behaviour.md`` §2.4): ``*weight`` gets the initializer's own
rule, while ``*bias``/``*beta`` become 0 and ``*gamma`` becomes 1 whatever the
initializer is. Every random draw comes from ``trainkit.random``, in MXNet's
order, so a seeded run reproduces MXNet's numbers.

Deliberate differences from MXNet (all of them places where MXNet crashes,
lies or is inconsistent):

* ``Mixed`` and ``Load`` are ``Initializer`` subclasses with ``dumps()``, and
  ``create`` rebuilds every class from its ``dumps()`` string.
* ``Constant.dumps()`` does not modify the instance and accepts lists and
  numpy scalars; ``FusedRNN`` accepts a string ``init``.
* ``Orthogonal`` orthonormalises with a QR decomposition instead of an SVD
  (much faster); for the same draws the values differ from MXNet's.
* ``Bilinear`` uses the kernel height for the y direction (MXNet uses the
  width for both, which gives negative weights on non-square kernels).
* Misuse raises ``ValueError``/``TypeError`` with a message that names the
  parameter and the fix, instead of empty ``AssertionError`` s.
* Initializers get a readable ``repr``; like MXNet's they compare by type and
  arguments and are unhashable.
"""
from .init_base import (_REGISTRY, InitDesc, Initializer, _Plan, alias, create, register)  # noqa: F401
from .init_basic import Constant, MSRAPrelu, Normal, One, Orthogonal, Uniform, Xavier, Zero
from .init_composite import Load, Mixed, _explain_any, warn_unmatched  # noqa: F401
from .init_structured import Bilinear, FusedRNN, LSTMBias, fused_rnn_layout  # noqa: F401

__all__ = ["InitDesc", "Initializer", "Zero", "One", "Constant", "Uniform", "Normal", "Orthogonal",
           "Xavier", "MSRAPrelu", "Bilinear", "LSTMBias", "FusedRNN", "Load", "Mixed",
           "register", "alias", "create", "warn_unmatched", "describe", "format_table", "ParamRow"]

# the public home of every initializer class is this module, as mxnet.initializer's: pickles, reprs and
# messages name trainkit.initializer.Xavier whichever file defines it
for _cls in (Zero, One, Constant, Uniform, Normal, Xavier, MSRAPrelu, Orthogonal, Load, Mixed, Bilinear, LSTMBias,
             FusedRNN):
    _cls.__module__ = __name__


def __getattr__(name):
    # describe()/format_table() live in init_describe.py, which imports this module: load it on first use
    if name in ("describe", "format_table", "ParamRow"):
        from . import init_describe
        return getattr(init_describe, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
