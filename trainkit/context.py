"""Devices: ``mx.cpu()``, ``mx.gpu()`` and which array library backs each one."""
import threading

import numpy as np

from .base import MXNetError


class _UnknownDeviceType(MXNetError, KeyError):
    """An unknown device type: MXNet raises KeyError; also an MXNetError for code catching those."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


class _ContextMeta(type):
    @property
    def default_ctx(cls):
        """``mx.Context.default_ctx``: the current default context (settable, as in MXNet)."""
        return current_context()

    @default_ctx.setter
    def default_ctx(cls, ctx):
        _default.ctx = ctx


class Context(metaclass=_ContextMeta):
    """A device, printed like MXNet: ``cpu(0)``, ``gpu(1)``.

    ``with mx.gpu(0):`` makes it the default for array creation in this thread.
    """

    devtype2str = {1: "cpu", 2: "gpu", 3: "cpu_pinned", 5: "cpu_shared"}
    devstr2type = {"cpu": 1, "gpu": 2, "cpu_pinned": 3, "cpu_shared": 5}
    __slots__ = ("device_type", "device_id", "_old")

    def __init__(self, device_type, device_id=0):
        if isinstance(device_type, Context):
            device_type, device_id = device_type.device_type, device_type.device_id
        if device_type not in self.devstr2type:
            raise _UnknownDeviceType(f"Unknown device type {device_type!r}: use one of 'cpu', 'gpu', "
                                     "'cpu_pinned', 'cpu_shared'.")
        self.device_type = device_type
        self.device_id = int(device_id)

    @property
    def device_typeid(self):
        return self.devstr2type[self.device_type]

    @property
    def xp(self):
        """The array module for this device: numpy, or CuPy for GPUs."""
        return cupy_module() if self.device_type == "gpu" else np

    def __eq__(self, other):
        return (isinstance(other, Context) and self.device_type == other.device_type
                and self.device_id == other.device_id)

    def __hash__(self):
        return hash((self.device_type, self.device_id))

    def __repr__(self):
        return f"{self.device_type}({self.device_id})"

    __str__ = __repr__

    def __enter__(self):
        self._old = current_context()
        _default.ctx = self
        return self

    def __exit__(self, *exc):
        _default.ctx = self._old


class _Default(threading.local):
    ctx = None


_default = _Default()


def cpu(device_id=0):
    return Context("cpu", device_id)


def cpu_pinned(device_id=0):
    return Context("cpu_pinned", device_id)


def gpu(device_id=0):
    """A GPU context, as in MXNet a plain description: making one always works. Allocating an array on
    it needs CuPy and that GPU (``mx.context.num_gpus()`` says how many there are); without them the
    allocation raises an MXNetError saying what to install."""
    return Context("gpu", device_id)


def num_gpus():
    """The number of GPUs CuPy can see: 0 without CuPy or without a driver/device."""
    try:
        cp = cupy_module()
    except MXNetError:
        return 0
    try:
        return cp.cuda.runtime.getDeviceCount()
    except Exception:  # CuPy installed but no driver/device
        return 0


def gpu_memory_info(device_id=0):
    """(free, total) bytes of GPU ``device_id``, as MXNet's ``mx.context.gpu_memory_info``."""
    cp = cupy_module()
    with cp.cuda.Device(device_id):
        return cp.cuda.runtime.memGetInfo()


_cupy = None


def cupy_module():
    global _cupy
    if _cupy is None:
        try:
            import cupy
        except ImportError:
            raise MXNetError("GPU arrays need CuPy, which is not installed. Install the GPU extra "
                             "(pip install 'trainkit[gpu]', or the cupy-cudaXXx wheel matching your "
                             "CUDA version), or use mx.cpu().") from None
        _cupy = cupy
    return _cupy


def current_context():
    """The default context of this thread: the innermost ``with ctx:``, else ``cpu(0)``."""
    return _default.ctx or Context("cpu", 0)
