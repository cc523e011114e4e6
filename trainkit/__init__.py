"""trainkit: MXNet 1.x's NDArray, autograd, initializer, symbol and module APIs on numpy.

``import trainkit as mx`` and MXNet-1.x code runs unchanged.
"""
import importlib
import sys

from . import autograd, ndarray, random  # noqa: F401
from . import base, context  # noqa: F401
from .base import MXNetError  # noqa: F401
from .context import Context, cpu, cpu_pinned, current_context, gpu, num_gpus  # noqa: F401

__version__ = "0.1.0"

# MXNet's mx.nd *is* mx.ndarray (``import mxnet.ndarray as nd``); both import paths work
nd = ndarray
sys.modules[__name__ + ".nd"] = ndarray
sys.modules[__name__ + ".nd.random"] = ndarray.random
sys.modules[__name__ + ".nd.ndarray"] = ndarray.ndarray

# MXNet's namespace names -> trainkit modules, imported on first use so `import trainkit` stays fast
_SUBMODULES = {
    "init": "initializer", "initializer": "initializer",
    "sym": "symbol", "symbol": "symbol",
    "mod": "module", "module": "module",
    "optimizer": "optimizer", "lr_scheduler": "lr_scheduler", "metric": "metric", "io": "io",
    "test_utils": "test_utils", "model": "model", "name": "name", "serialization": "serialization",
    "gluon": "gluon", "kv": "kvstore", "kvstore": "kvstore", "callback": "callback",
    "mon": "monitor", "monitor": "monitor", "base": "base", "runtime": "runtime",
    "contrib": "contrib",
    "executor": "executor", "operator": "operator", "attribute": "attribute", "util": "util",
    "np": "numpy",
}


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f".{_SUBMODULES[name]}", __name__)
        globals()[name] = module
        return module
    if name in ("use_np_shape", "np_shape", "is_np_shape", "set_np_shape"):
        from . import util
        return getattr(util, name)
    if name == "AttrScope":
        from .attribute import AttrScope
        return AttrScope
    if name in ("Trainer", "Callback"):
        from . import trainer
        return getattr(trainer, name)
    raise AttributeError(f"module 'trainkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES) | {"Trainer", "Callback"})
