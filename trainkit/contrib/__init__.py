"""``mx.contrib``: MXNet's experimental namespace. ``contrib.autograd`` is the pre-1.0 autograd API;
``contrib.nd``/``contrib.ndarray`` and ``contrib.sym``/``contrib.symbol`` are ``mx.nd.contrib`` and
``mx.sym.contrib`` (the ``_contrib_*`` operators)."""
import importlib

from . import autograd  # noqa: F401

_ALIASES = {"nd": ("..ndarray", "contrib"), "ndarray": ("..ndarray", "contrib"),
            "sym": ("..symbol", "contrib"), "symbol": ("..symbol", "contrib")}


def __getattr__(name):
    if name in _ALIASES:
        package, attr = _ALIASES[name]
        module = importlib.import_module(package, __name__)
        try:
            return getattr(module, attr)
        except AttributeError:
            raise AttributeError(f"mx.contrib.{name}: no _contrib_ operators are registered yet") from None
    raise AttributeError(f"module 'trainkit.contrib' has no attribute {name!r}")
