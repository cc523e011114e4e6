"""Initializers built from others or from files: ``Load`` (a saved parameter file, with a default
initializer for the rest) and ``Mixed`` (regex patterns mapped to initializers), and the warning for
names no pattern matched."""
import json
import logging
import os
import re

import numpy as np

from .base import MXNetError
from .ndarray.ndarray import NDArray
from .init_base import Initializer, _Plan, _assign, _coerce, _to_json, register


# ----- Load and Mixed ---------------------------------------------------------------------------

@register
class Load(Initializer):
    """Initialize parameters from saved values: a dict of name to array, or a file saved by ``mx.nd.save``.

    ``arg:``/``aux:`` prefixes (as in ``Module.save_params`` files) are stripped.
    A name that is not in ``param`` is passed to ``default_init``, and without
    one it is an error. ``verbose`` logs ``Initialized <name> by loading`` /
    ``by default`` at INFO. ``dumps()`` works when ``param`` is a path (the file
    is read again by ``create``); a Load built from a dict cannot be dumped.
    """

    def __init__(self, param, default_init=None, verbose=False):
        source = param
        if isinstance(param, (str, os.PathLike)):
            source = os.fspath(param)
            param = self._read(source)
        if not isinstance(param, dict):
            raise TypeError(f"Load needs a dict of name to NDArray or the path of a file saved by mx.nd.save, "
                            f"got {type(param).__name__}. Convert a list to a dict of names first.")
        self.param = {}
        for name, arr in param.items():
            self.param[name[4:] if name.startswith(("arg:", "aux:")) else name] = arr
        default_init = _coerce(default_init, "Load default_init")
        super().__init__(param=source, default_init=default_init, verbose=verbose)
        # set after the base __init__, whose set_verbosity() would otherwise reset default_init's verbosity
        self.default_init = default_init
        self.verbose = verbose

    @staticmethod
    def _read(path):
        if not os.path.isfile(path):
            raise MXNetError(f"Load: cannot open parameter file {path!r}: No such file or directory "
                             f"(relative paths start at {os.getcwd()}). Check the path, or pass a dict of arrays.")
        from . import nd
        loaded = nd.load(path)
        if not isinstance(loaded, dict):
            raise ValueError(f"Load: {path!r} holds a list of {len(loaded)} unnamed arrays; it needs named "
                             "parameters. Save a dict: mx.nd.save(path, {'fc_weight': w, ...}).")
        return loaded

    def __repr__(self):
        param = self._kwargs["param"]
        source = repr(param) if isinstance(param, str) else f"<dict of {len(param)} arrays>"
        return f"Load(param={source}, default_init={self.default_init!r}, verbose={self.verbose!r})"

    def set_verbosity(self, verbose=False, print_func=None):
        super().set_verbosity(verbose, print_func)
        self.verbose = verbose
        if isinstance(getattr(self, "default_init", None), Initializer):
            self.default_init.set_verbosity(verbose, print_func)
        return self

    def _json_kwargs(self):
        if isinstance(self._kwargs["param"], dict):
            raise TypeError("Load built from a dict of arrays cannot be dumped: JSON would have to hold every "
                            "value. Save the dict with mx.nd.save(path, params) and use Load(path) instead.")
        return {"param": self._kwargs["param"], "default_init": _to_json(self.default_init),
                "verbose": self.verbose}

    def _lookup(self, name, shape):
        loaded = self.param.get(name)
        if loaded is not None and tuple(loaded.shape) != tuple(shape):
            raise ValueError(f"Parameter {name} cannot be initialized from loading. Shape mismatch, target "
                             f"{tuple(shape)} vs loaded {tuple(loaded.shape)}.")
        if loaded is None and self.default_init is None:
            known = ", ".join(sorted(self.param)) or "(none)"
            raise ValueError(f"Cannot Initialize {name}. Not found in loaded param and no default Initializer is "
                             f"provided. Loaded names: {known}. Pass default_init=mx.init.Uniform() (or another "
                             "initializer) to fill missing parameters.")
        return loaded

    def __call__(self, name, arr):
        loaded = self._lookup(name, arr.shape)
        if loaded is not None:
            _assign(arr, loaded)
            if self.verbose:
                logging.info("Initialized %s by loading", name)
        else:
            self.default_init(name, arr)
            if self.verbose:
                logging.info("Initialized %s by default", name)

    def _explain(self, desc, shape):
        loaded = self._lookup(desc, shape)
        if loaded is None:
            return _explain_any(self.default_init, desc, shape)
        values = np.asarray(loaded.asnumpy() if isinstance(loaded, NDArray) else loaded, np.float64)
        source = self._kwargs["param"]
        label = json.dumps(["load", {"param": source if isinstance(source, str) else "<dict>"}])
        return _Plan(label, "load", float(values.mean()) if values.size else 0.0,
                     float(values.std()) if values.size else 0.0)


@register
class Mixed(Initializer):
    """Pick the initializer by regular expression: the first pattern that ``re.match``-es the name wins.

    ``re.match`` is anchored at the start of the name, so ``'bias'`` does not
    match ``'fc_bias'``; write ``'.*bias'``. End with ``'.*'`` to give every
    other parameter a default. ``unmatched_patterns(names)`` and
    ``warn_unmatched`` report patterns that matched nothing.

    Example::

        Mixed(['.*bias', '.*'], [mx.init.Zero(), mx.init.Uniform(0.1)])
    """

    def __init__(self, patterns, initializers):
        if isinstance(patterns, str) or isinstance(initializers, (str, Initializer)):
            raise TypeError("Mixed takes a list of patterns and a list of initializers, e.g. "
                            "Mixed(['.*bias', '.*'], [mx.init.Zero(), mx.init.Uniform()]).")
        patterns, initializers = list(patterns), list(initializers)
        if len(patterns) != len(initializers):
            raise ValueError(f"Mixed needs one initializer per pattern, got {len(patterns)} patterns and "
                             f"{len(initializers)} initializers.")
        compiled = []
        for pattern in patterns:
            if not isinstance(pattern, str):
                raise TypeError(f"Mixed patterns must be strings (regular expressions), got {pattern!r}.")
            try:
                compiled.append(re.compile(pattern))
            except re.error as err:
                raise ValueError(f"Mixed: pattern {pattern!r} is not a valid regular expression: {err}.") from None
        initializers = [_coerce(init, "each Mixed initializer") for init in initializers]
        super().__init__(patterns=patterns, initializers=initializers)
        self.map = list(zip(compiled, initializers))

    def set_verbosity(self, verbose=False, print_func=None):
        super().set_verbosity(verbose, print_func)
        for _, init in getattr(self, "map", ()):
            if isinstance(init, Initializer):
                init.set_verbosity(verbose, print_func)
        return self

    def _choose(self, name):
        for prog, init in self.map:
            if prog.match(name):
                return prog.pattern, init
        raise ValueError(f"Parameter name {name} did not match any pattern of this Mixed initializer "
                         f"(patterns: {self._kwargs['patterns']}). Patterns use re.match, which is anchored at the "
                         "start of the name; consider adding a '.*' pattern at the end with a default initializer.")

    def __call__(self, name, arr):
        # global_init is left to the chosen initializer, as in MXNet where Mixed
        # is not an Initializer: FusedRNN(None) then reuses the chosen one.
        self._choose(name)[1](name, arr)

    def unmatched_patterns(self, names):
        """The patterns that ``re.match`` none of ``names``, in order."""
        names = list(names)
        return [prog.pattern for prog, _ in self.map if not any(prog.match(n) for n in names)]

    def _explain(self, desc, shape):
        pattern, init = self._choose(desc)
        plan = _explain_any(init, desc, shape)
        plan.pattern = pattern if plan.pattern is None else f"{pattern} > {plan.pattern}"
        return plan


def _explain_any(init, desc, shape):
    if isinstance(init, Initializer):
        return init._explain(desc, shape)
    return _Plan(repr(init), None)


def warn_unmatched(initializer, names):
    """Log a warning for each ``Mixed`` pattern that matches none of ``names``; returns those patterns.

    A no-op for other initializers. Looks into nested ``Mixed`` (with the names
    routed to them) and into ``Load``'s ``default_init`` (with the names not loaded).
    """
    names = list(names)
    unmatched = []
    if isinstance(initializer, Mixed):
        for pattern in initializer.unmatched_patterns(names):
            suggestion = ".*" + pattern
            hits = [n for n in names if re.match(suggestion, n)]
            would = f" ('{suggestion}' would match {', '.join(hits[:5])}{', ...' if len(hits) > 5 else ''})" \
                if hits else ""
            logging.warning("Mixed initializer pattern '%s' did not match any parameter. Patterns use re.match, "
                            "which is anchored at the start of the name: did you mean '%s'?%s", pattern,
                            suggestion, would)
            unmatched.append(pattern)
        routed = {}
        for name in names:
            for prog, init in initializer.map:
                if prog.match(name):
                    routed.setdefault(id(init), (init, []))[1].append(name)
                    break
        for init, sub_names in routed.values():
            unmatched += warn_unmatched(init, sub_names)
    elif isinstance(initializer, Load) and initializer.default_init is not None:
        unmatched += warn_unmatched(initializer.default_init, [n for n in names if n not in initializer.param])
    return unmatched
