"""``mx.util``: MXNet's numpy-shape switch (``use_np_shape``, ``np_shape``, ``is_np_shape``, ``set_np_shape``).

In MXNet 1.x the switch makes ``0`` in a shape mean a zero-size axis (instead of
"unknown") and allows 0-d arrays. trainkit's shapes already follow numpy, so the
switch is a per-thread flag that code can set and read, and nothing else changes.
"""
import functools
import threading

__all__ = ["is_np_array", "is_np_shape", "set_np_shape", "np_shape", "use_np_shape", "use_np"]


class _State(threading.local):
    active = False


_state = _State()


def is_np_shape():
    return _state.active


def is_np_array():
    """MXNet's numpy-array mode (``mx.np``) is not part of trainkit: always False (Gluon code asks)."""
    return False


def set_np_shape(active):
    """Turn numpy shape semantics on or off; returns the previous state (as MXNet's does)."""
    previous, _state.active = _state.active, bool(active)
    return previous


class np_shape:
    """``with mx.np_shape(True):`` ... (restores the previous state on exit)."""

    def __init__(self, active=True):
        self._active, self._previous = bool(active), None

    def __enter__(self):
        self._previous = set_np_shape(self._active)
        return self

    def __exit__(self, *exc):
        set_np_shape(self._previous)


def use_np_shape(func):
    """Decorate a function (or every method of a class) to run with numpy shape semantics on."""
    if isinstance(func, type):
        for name, value in list(vars(func).items()):
            if callable(value) and not name.startswith("__"):
                setattr(func, name, use_np_shape(value))
        return func

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        with np_shape(True):
            return func(*args, **kwargs)
    return wrapped


# MXNet's use_np also switches on mx.np arrays, which trainkit does not have: only the shape part applies
use_np = use_np_shape
