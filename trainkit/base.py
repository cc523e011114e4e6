"""Errors and small helpers shared by the whole toolkit (``mx.base``, as MXNet's ``mxnet.base``).

Besides ``MXNetError`` this holds the names of MXNet's ``base`` module that user and
test code import (``from mxnet.base import py_str, _as_list, integer_types, ...``);
the ctypes/C-API parts of MXNet's module have no meaning here and are absent.
"""
import os

import numpy as _np

__all__ = ["MXNetError"]

integer_types = (int, _np.int32, _np.int64)
numeric_types = (float, int, _np.generic)
string_types = (str,)
long = int
basestring = str
mx_real_t = _np.float32
error_types = {}


def py_str(x):
    """bytes from a C string -> str."""
    return x.decode("utf-8")


class MXNetError(RuntimeError):
    """A misuse of the MXNet-style API (MXNet raises ``mxnet.base.MXNetError``).

    ``user_error`` tells the command line to print the message alone, without a
    traceback: these errors describe what the user did and how to fix it.
    """

    user_error = True


class MXNetIndexError(MXNetError, IndexError):
    """An out-of-range index inside an operator: MXNet's ``mxnet.error.IndexError``, which user code
    catches as either ``IndexError`` or ``MXNetError``."""


class MXNetValueError(MXNetError, ValueError):
    """An invalid argument value inside an operator, catchable as ``ValueError`` or ``MXNetError``."""


error_types.update(IndexError=MXNetIndexError, ValueError=MXNetValueError)


class _OnlyForNDArray(MXNetError):
    """A function that only dense NDArrays have was called on something else (MXNet's message)."""

    _unavailable = ""

    def __init__(self, function, alias=None, *args):
        super().__init__()
        self.function = getattr(function, "__name__", str(function))
        self.alias = alias
        self.args = [str(type(a)) for a in args]

    def __str__(self):
        msg = f"Function {self.function}"
        if self.alias:
            msg += f' (namely operator "{self.alias}")'
        if self.args:
            msg += f" with arguments ({', '.join(self.args)})"
        return msg + f" {self._unavailable} and only available in NDArray."


class NotImplementedForSymbol(_OnlyForNDArray):
    """An NDArray-only function was called on a Symbol."""

    _unavailable = "is not implemented for Symbol"


class NotSupportedForSparseNDArray(_OnlyForNDArray):
    """A dense-only function was called on a sparse array (trainkit has no sparse arrays)."""

    _unavailable = "is not supported for SparseNDArray"


class _NullType:
    """MXNet's placeholder for "argument not given" (``_Null``), distinct from ``None``."""

    def __repr__(self):
        return "_Null"


_Null = _NullType()


def _as_list(obj):
    """``obj`` if it is a list or tuple, else ``[obj]``."""
    return obj if isinstance(obj, (list, tuple)) else [obj]


def data_dir_default():
    return os.path.join(os.path.expanduser("~"), ".mxnet")


def data_dir():
    """Where datasets and models are kept: ``$MXNET_HOME`` or ``~/.mxnet``, as MXNet."""
    return os.getenv("MXNET_HOME", data_dir_default())


def check_call(ret):
    """MXNet checks C-API return codes with this; trainkit has no C API, so only a non-zero code raises."""
    if ret != 0:
        raise MXNetError(f"call failed with return code {ret}")


def classproperty(func):
    """A read-only property on the class itself (MXNet's ``base.classproperty``)."""
    class _Descriptor:
        def __get__(self, obj, owner):
            return func(owner)
    return _Descriptor()


def with_metaclass(meta, *bases):
    """Create a base class with a metaclass (MXNet's py2/py3 helper)."""
    return meta("temporary_class", bases or (object,), {})
