"""``mx.AttrScope``: attributes given to every symbol made inside a ``with`` block.

``with mx.AttrScope(ctx_group='dev1', lr_mult='0.1'):`` gives each Variable and
operator created inside the attributes ``__ctx_group__='dev1'``, ``__lr_mult__='0.1'``
(keys are wrapped in double underscores, as MXNet stores them). Scopes nest: an
inner scope adds to and overrides the outer one; an attribute passed to the
symbol itself (``attr=``) wins over both. Values must be strings.
"""
import threading

__all__ = ["AttrScope", "current"]


class _Current(threading.local):
    value = None


class AttrScope:
    """A set of attributes applied to the symbols created while it is active."""

    def __init__(self, **kwargs):
        self._old_scope = None
        for value in kwargs.values():
            if not isinstance(value, str):
                raise ValueError("Attributes need to be string")
        self._attr = kwargs

    def get(self, attr):
        """``attr`` (a dict or None) merged over this scope's attributes, keys wrapped in ``__``."""
        if self._attr:
            ret = {f"__{k}__" if not (k.startswith("__") and k.endswith("__")) else k: v
                   for k, v in self._attr.items()}
            if attr:
                ret.update(attr)
            return ret
        return attr if attr else {}

    def __enter__(self):
        outer = AttrScope._current.value
        if outer is None:
            outer = AttrScope._current.value = AttrScope()
        self._old_scope = outer
        merged = dict(outer._attr)
        merged.update(self._attr)
        self._attr = merged
        AttrScope._current.value = self
        return self

    def __exit__(self, *exc):
        AttrScope._current.value = self._old_scope


AttrScope._current = _Current()


def current():
    """The thread's active scope (an empty one when none is active)."""
    scope = AttrScope._current.value
    if scope is None:
        scope = AttrScope._current.value = AttrScope()
    return scope
