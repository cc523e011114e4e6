"""Automatic names for symbols (MXNet's ``mx.name``).

An op symbol made without ``name=`` is called ``<hint><count>``, where the hint
is the lower-cased operator name (``fullyconnected0``, ``_plus0``) and the count
is kept per hint. The counter lives in the thread's current ``NameManager``, so it
runs for the whole life of the process (MXNet behaves the same way, which is why
its docs show ``fullyconnected1_weight``: another layer had been made before).
Names matter beyond printing: they are the parameter names in saved files.

``with mx.name.NameManager():`` counts from zero inside and restores the old
counter afterwards; ``with mx.name.Prefix('net_'):`` also prefixes every name.
A new thread starts with a fresh manager.
"""
import threading

__all__ = ["NameManager", "Prefix", "current"]


class _Current(threading.local):
    value = None


class _ManagerMeta(type):
    @property
    def current(cls):
        """The thread's active manager (created on first use)."""
        manager = _current.value
        if manager is None:
            manager = _current.value = NameManager()
        return manager


class NameManager(metaclass=_ManagerMeta):
    """Hands out ``hint + count`` names; a context manager that makes itself current."""

    def __init__(self):
        self._counter = {}
        self._old_manager = None

    def get(self, name, hint):
        """``name`` itself when given (the counter does not move), else the next ``hint<k>``."""
        if name:
            return name
        count = self._counter.get(hint, 0)
        self._counter[hint] = count + 1
        return f"{hint}{count}"

    def __enter__(self):
        self._old_manager = NameManager.current
        _current.value = self
        return self

    def __exit__(self, *exc):
        _current.value = self._old_manager
        self._old_manager = None


class Prefix(NameManager):
    """A NameManager that puts ``prefix`` before every name, automatic or explicit."""

    def __init__(self, prefix):
        super().__init__()
        self._prefix = prefix

    def get(self, name, hint):
        return self._prefix + super().get(name, hint)


_current = _Current()
# MXNet code reads NameManager._current.value; keep that spelling working
NameManager._current = _current


def current():
    return NameManager.current
