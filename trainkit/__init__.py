"""trainkit: MXNet 1.x's NDArray, autograd, initializer, symbol and module APIs on numpy.

``import trainkit as mx`` and MXNet-1.x code runs unchanged.
"""
from . import autograd, ndarray, nd, random  # noqa: F401
from .base import MXNetError  # noqa: F401
from .context import Context, cpu, cpu_pinned, current_context, gpu, num_gpus  # noqa: F401

__version__ = "0.1.0"
