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
import json
import logging
import math
import os
import re
import warnings

import numpy as np

from . import random_streams as _random  # numpy draws from MXNet's bank (mx.random returns NDArrays)
from .base import MXNetError
from .ndarray.ndarray import NDArray

__all__ = ["InitDesc", "Initializer", "Zero", "One", "Constant", "Uniform", "Normal", "Orthogonal",
           "Xavier", "MSRAPrelu", "Bilinear", "LSTMBias", "FusedRNN", "Load", "Mixed",
           "register", "alias", "create", "warn_unmatched", "describe", "format_table", "ParamRow"]


class InitDesc(str):
    """A parameter name that also carries its attributes and the outermost initializer.

    ``attrs`` is the variable's attribute dict; an ``'__init__'`` entry (a
    ``dumps()`` string, which ``mx.sym.Variable(init=...)`` stores) overrides
    the initializer for this parameter. ``global_init`` is set to the
    initializer that is called first, so ``FusedRNN(None, ...)`` can reuse it.
    """

    def __new__(cls, name, attrs=None, global_init=None):
        desc = super().__new__(cls, name)
        desc.attrs = attrs or {}
        desc.global_init = global_init
        return desc


# ----- helpers ----------------------------------------------------------------------------

def _assign(arr, value):
    """arr[...] = value for any NDArray (0-d included), whatever device it lives on."""
    if isinstance(value, NDArray):
        value = value._data if value._ctx.device_type == arr._ctx.device_type else value.asnumpy()
    if arr._ctx.device_type == "gpu" and not np.isscalar(value):
        value = arr._ctx.xp.asarray(value)
    arr._write(value)


def _check_arr(arr):
    if not isinstance(arr, NDArray):
        raise TypeError(f"arr must be NDArray, got {type(arr).__name__}. Initializers fill an "
                        "mx.nd.NDArray in place, e.g. init(mx.init.InitDesc('fc_weight'), mx.nd.zeros((4, 3))).")


def _rms_stat(x):
    # MXNet's docs say "mean absolute value", but the code (and the number users
    # compare with) is the root mean square.
    from . import nd
    return str((nd.norm(x) / math.sqrt(x.size)).asscalar())


def _to_json(value):
    """A JSON-ready copy: arrays become (nested) lists, numpy numbers Python numbers,
    initializers their dumps() string (as FusedRNN stores its init in MXNet)."""
    if isinstance(value, Initializer):
        return value.dumps()
    if isinstance(value, NDArray):
        return value.asnumpy().tolist()
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if callable(value):
        raise TypeError(f"cannot serialize {value!r}: only Initializer instances can be written by dumps(). "
                        "Wrap the function in an Initializer subclass registered with mx.init.register.")
    return value


def _comparable(value):
    """Like _to_json, but keeps initializers and other callables (compared with their own __eq__)."""
    if isinstance(value, Initializer) or (callable(value) and not isinstance(value, NDArray)):
        return value
    if isinstance(value, (list, tuple)):
        return [_comparable(v) for v in value]
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    return _to_json(value)


def _check_choice(cls_name, arg, value, choices):
    if value not in choices:
        raise ValueError(f"{cls_name}: {arg}={value!r} is not supported; use one of "
                         f"{', '.join(repr(c) for c in choices)}.")


def _check_number(cls_name, arg, value, minimum=None):
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or (minimum is not None and number < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise ValueError(f"{cls_name}: {arg} must be a finite number{bound}, got {value!r}.")
    return number


# ----- the base class -----------------------------------------------------------------------

# Suffix -> method, checked in this order with str.endswith, as MXNet 1.9.1 does.
# 'weight_quantize' after 'weight' is harmless: it ends in 'quantize', not 'weight'.
_SUFFIX_RULES = (
    ("weight", "_init_weight"),
    ("bias", "_init_bias"),
    ("gamma", "_init_gamma"),
    ("beta", "_init_beta"),
    ("min", "_init_zero"),
    ("max", "_init_one"),
    ("weight_quantize", "_init_quantized_weight"),
    ("bias_quantize", "_init_quantized_bias"),
)

# The legacy init(str, arr) path has its own table: (prefix, suffix, method).
_LEGACY_RULES = (
    ("upsampling", "", "_init_bilinear"),
    ("stn_loc", "weight", "_init_zero"),
    ("stn_loc", "bias", "_init_loc_bias"),
    ("", "bias", "_init_bias"),
    ("", "gamma", "_init_gamma"),
    ("", "beta", "_init_beta"),
    ("", "weight", "_init_weight"),
    ("", "moving_mean", "_init_zero"),
    ("", "moving_var", "_init_one"),
    ("", "moving_inv_var", "_init_zero"),
    ("", "moving_avg", "_init_zero"),
    ("", "min", "_init_zero"),
    ("", "max", "_init_one"),
)

# Base-class rules that write a constant whatever the initializer is.
_CONSTANT_RULES = {"_init_bias": 0.0, "_init_beta": 0.0, "_init_zero": 0.0, "_init_quantized_bias": 0.0,
                   "_init_gamma": 1.0, "_init_one": 1.0}


class _Plan:
    """What describe() reports for one parameter: the rule that fills it and its moments."""

    __slots__ = ("init", "pattern", "rule", "mean", "std")

    def __init__(self, init, rule, mean=None, std=None, pattern=None):
        self.init, self.rule, self.mean, self.std, self.pattern = init, rule, mean, std, pattern


class Initializer:
    """Base class of all initializers: ``init(desc, arr)`` fills ``arr`` in place.

    The rule is picked from the parameter name's suffix (``weight``, ``bias``,
    ``gamma``, ``beta``, ``min``, ``max``, ``weight_quantize``,
    ``bias_quantize``). Concrete initializers override only the *weight* rule;
    a ``*bias``/``*beta`` is always filled with 0 and a ``*gamma`` with 1,
    whichever initializer is used (so ``Constant(3)`` on ``fc_bias`` gives 0).
    This is MXNet's behaviour and MXNet-identical outputs depend on it. To
    initialize a bias differently, give the variable its own initializer,
    ``mx.sym.Variable('fc_bias', init=mx.init.Constant(3))``, or use ``Mixed``.

    Subclasses call ``super().__init__(**kwargs)`` with their constructor
    arguments in signature order: those are what ``dumps()`` writes.
    """

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        self.set_verbosity()

    def set_verbosity(self, verbose=False, print_func=None):
        """Log ``Initialized <name> as <rule>: <stat>`` at INFO for every parameter.

        ``print_func(arr) -> str`` computes the stat; the default is the root mean
        square ``norm(arr) / sqrt(arr.size)`` (MXNet's docs call it the mean
        absolute value, but its code prints the RMS). Returns ``self``.
        """
        self._verbose = verbose
        self._print_func = print_func or _rms_stat
        return self

    def _verbose_print(self, desc, rule, arr):
        if self._verbose and self._print_func:
            logging.info("Initialized %s as %s: %s", desc, rule, self._print_func(arr))

    def dumps(self):
        """``'["<lowercased class name>", {kwargs}]'``: the string ``create`` rebuilds from."""
        return json.dumps([type(self).__name__.lower(), self._json_kwargs()])

    def _json_kwargs(self):
        return {k: _to_json(v) for k, v in self._kwargs.items()}

    def __eq__(self, other):
        if not isinstance(other, Initializer):
            return NotImplemented
        return type(self) is type(other) and _comparable(self._kwargs) == _comparable(other._kwargs)

    # Like MXNet's: equality is by value and some arguments are mutable arrays.
    __hash__ = None

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._kwargs.items())
        return f"{type(self).__name__}({args})"

    # ----- dispatch -------------------------------------------------------------------------
    def __call__(self, desc, arr):
        """Fill ``arr`` for parameter ``desc`` (an ``InitDesc``; a plain str takes MXNet's legacy path)."""
        if not isinstance(desc, InitDesc):
            self._legacy_init(desc, arr)
            return
        _check_arr(arr)
        if desc.global_init is None:
            desc.global_init = self
        target, method, rule = self._route(desc)
        getattr(target, method)(desc, arr)
        self._verbose_print(desc, rule, arr)

    def _route(self, desc):
        """(initializer, method name, rule label) that will fill parameter ``desc``."""
        override = desc.attrs.get("__init__", "")
        if override:
            # Variable(init=X): X's weight rule applies whatever the suffix is.
            return create(override), "_init_weight", override
        for suffix, method in _SUFFIX_RULES:
            if desc.endswith(suffix):
                return self, method, suffix
        return self, "_init_default", None

    def _legacy_init(self, name, arr):
        warnings.warn("Calling initializer with init(str, NDArray) has been deprecated. "
                      "Please use init(mx.init.InitDesc(...), NDArray) instead.", DeprecationWarning, stacklevel=3)
        if not isinstance(name, str):
            raise TypeError(f"name must be string, got {type(name).__name__}: pass the parameter name, "
                            "ideally as mx.init.InitDesc(name).")
        _check_arr(arr)
        for prefix, suffix, method in _LEGACY_RULES:
            if name.startswith(prefix) and name.endswith(suffix):
                getattr(self, method)(name, arr)
                return
        self._init_default(name, arr)

    # ----- the rules --------------------------------------------------------------------------
    def _init_weight(self, name, arr):
        raise NotImplementedError(f"Must override it: {type(self).__name__} does not define _init_weight, so it "
                                  f"cannot initialize {name}. Use a concrete initializer such as mx.init.Uniform().")

    def _init_bias(self, _, arr):
        _assign(arr, 0.0)

    def _init_gamma(self, _, arr):
        _assign(arr, 1.0)

    def _init_beta(self, _, arr):
        _assign(arr, 0.0)

    def _init_zero(self, _, arr):
        _assign(arr, 0.0)

    def _init_one(self, _, arr):
        _assign(arr, 1.0)

    def _init_quantized_bias(self, _, arr):
        _assign(arr, 0)

    def _init_quantized_weight(self, _, arr):
        # MXNet broadcasts one randint(-127, 127) over the array. Drawing it as
        # one uniform consumes the same stream position, so later draws stay
        # aligned with MXNet's, though this one value may differ.
        u = float(_random.uniform(0.0, 1.0, (1,))[0])
        _assign(arr, np.int8(-127 + min(int(u * 254), 253)))

    def _init_bilinear(self, name, arr):
        _assign(arr, _bilinear_kernel(name, arr.shape))

    def _init_loc_bias(self, name, arr):
        if arr.shape[:1] != (6,):
            raise ValueError(f"{name}: a spatial-transformer loc bias must have 6 entries (an identity "
                             f"affine transform), got shape {arr.shape}.")
        _assign(arr, np.array([1.0, 0, 0, 0, 1.0, 0]))

    def _init_default(self, name, _):
        raise ValueError(
            f'Unknown initialization pattern for {name}. Default initialization is now limited to "weight", '
            f'"bias", "gamma" (1.0), and "beta" (0.0). Please use mx.sym.Variable(init=mx.init.*) to set '
            f"initialization pattern. Hint: give the variable its own initializer, e.g. "
            f"mx.sym.Variable('{name}', init=mx.init.Zero()), or rename it with a recognised suffix such as "
            f"'{name}_weight'. If {name} is an input, list it in the Module's data_names or label_names.")

    # ----- what describe() needs --------------------------------------------------------------
    def _weight_moments(self, desc, shape):
        """(mean, std) of the weight rule's values for ``shape``; None where unknown."""
        return None, None

    def _explain(self, desc, shape):
        """The _Plan for parameter ``desc`` of ``shape``, following __call__ without drawing."""
        if desc.global_init is None:
            desc.global_init = self
        target, method, rule = self._route(desc)
        if method == "_init_default":
            self._init_default(desc, None)
        if method in _CONSTANT_RULES and getattr(type(target), method) is getattr(Initializer, method):
            value = _CONSTANT_RULES[method]
            return _Plan((Zero() if value == 0 else One()).dumps(), rule, value, 0.0)
        if method == "_init_weight":
            if type(target)._init_weight is Initializer._init_weight:
                target._init_weight(desc, None)      # raises, as the real call would
            mean, std = target._weight_moments(desc, shape)
            return _Plan(target._label(), rule, mean, std)
        if method == "_init_quantized_weight":
            return _Plan(target._label(), rule, None, 0.0)
        return _Plan(target._label(), rule)

    def _label(self):
        try:
            return self.dumps()
        except (TypeError, ValueError):
            return repr(self)


# ----- registry -------------------------------------------------------------------------------

_REGISTRY = {}


def register(klass, name=None):
    """Register an Initializer subclass under ``klass.__name__.lower()`` (or ``name``); usable as a decorator."""
    if not (isinstance(klass, type) and issubclass(klass, Initializer)):
        raise TypeError(f"Can only register subclass of Initializer, got {klass!r}. "
                        "Derive your class from mx.init.Initializer.")
    name = (name or klass.__name__).lower()
    old = _REGISTRY.get(name)
    if old is not None and old is not klass:
        warnings.warn(f"New initializer {klass.__module__}.{klass.__name__} registered with name {name} is "
                      f"overriding existing initializer {old.__module__}.{old.__name__}", UserWarning, stacklevel=2)
    _REGISTRY[name] = klass
    return klass


def alias(*aliases):
    """Decorator: register the class under each extra (lower-cased) name as well."""
    def reg(klass):
        for name in aliases:
            register(klass, name)
        return klass
    return reg


def create(*args, **kwargs):
    """An initializer from an instance, a registered name, a ``dumps()`` string, or a dict.

    ``create(Uniform(0.1))`` returns it as is; ``create('uniform', 0.5)`` and
    ``create('XAVIER', magnitude=2)`` look the (case-insensitive) name up;
    ``create('["normal", {"sigma": 2}]')``, ``create(["normal", {"sigma": 2}])``
    and ``create({'initializer': 'normal', 'sigma': 2})`` rebuild from data.
    """
    if args:
        spec, args = args[0], args[1:]
    elif "initializer" in kwargs:
        spec = kwargs.pop("initializer")
    else:
        raise TypeError("create() needs an initializer: an Initializer instance, a registered name "
                        f"({', '.join(sorted(_REGISTRY))}), a dumps() string, or initializer=<name>.")
    if isinstance(spec, Initializer):
        if args or kwargs:
            raise TypeError(f"initializer is already an instance ({spec!r}). Additional arguments are invalid.")
        return spec
    if isinstance(spec, dict):
        if args or kwargs:
            raise TypeError("create(dict) takes no additional arguments: put them in the dict.")
        return create(**spec)
    if isinstance(spec, str) and spec.lstrip()[:1] in ("[", "{"):
        if args or kwargs:
            raise TypeError(f"create({spec!r}) takes no additional arguments: the JSON string holds them all.")
        try:
            spec = json.loads(spec)
        except json.JSONDecodeError as err:
            raise ValueError(f"cannot parse initializer string {spec!r}: {err}. Expected the output of "
                             'dumps(), e.g. \'["uniform", {"scale": 0.07}]\'.') from None
        return create(spec)
    if isinstance(spec, (list, tuple)):
        if len(spec) != 2 or not isinstance(spec[0], str) or not isinstance(spec[1], dict) or args or kwargs:
            raise ValueError(f"cannot build an initializer from {spec!r}: expected [name, {{kwargs}}] as "
                             "written by dumps().")
        return create(spec[0], **spec[1])
    if not isinstance(spec, str):
        raise TypeError(f"initializer must be of string type (a registered name or a dumps() string), an "
                        f"Initializer instance or a dict; got {type(spec).__name__} {spec!r}.")
    name = spec.lower()
    if name not in _REGISTRY:
        extra = (" 'initializer' is the abstract base class and cannot be created." if name == "initializer"
                 else "")
        raise ValueError(f"{name} is not registered.{extra} Registered initializers: "
                         f"{', '.join(sorted(_REGISTRY))}. Register your own with @mx.init.register.")
    return _REGISTRY[name](*args, **kwargs)


def _coerce(init, what):
    """An Initializer from anything create() understands; other callables are kept as they are."""
    if init is None or isinstance(init, Initializer):
        return init
    if isinstance(init, (str, dict, list, tuple)):
        return create(init)
    if callable(init):
        return init
    raise TypeError(f"{what} must be an Initializer, a registered name or a dumps() string, got "
                    f"{type(init).__name__} {init!r}.")


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


# ----- constants ---------------------------------------------------------------------------------

@register
@alias("zeros")
class Zero(Initializer):
    """Weights are 0."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        _assign(arr, 0.0)

    def _weight_moments(self, desc, shape):
        return 0.0, 0.0


@register
@alias("ones")
class One(Initializer):
    """Weights are 1."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        _assign(arr, 1.0)

    def _weight_moments(self, desc, shape):
        return 1.0, 0.0


@register
class Constant(Initializer):
    """Weights are ``value``: a number, or a list/numpy array/NDArray that broadcasts to the weight's shape."""

    def __init__(self, value):
        if isinstance(value, (str, bytes, dict)) or value is None:
            raise TypeError(f"Constant value must be a number, a list, a numpy array or an NDArray, got {value!r}.")
        # the keyword arguments hold the JSON form (so json.dumps(init._kwargs) works, as MXNet code does),
        # without dumps() having to rewrite them as MXNet's does
        super().__init__(value=_to_json(value))
        self.value = value

    def _values(self, name, shape):
        value = self.value.asnumpy() if isinstance(self.value, NDArray) else np.asarray(self.value)
        try:
            return np.broadcast_to(value, shape)
        except ValueError:
            raise ValueError(f"Constant value of shape {value.shape} cannot be broadcast to parameter {name} of "
                             f"shape {tuple(shape)}. Use a scalar or a value whose shape broadcasts.") from None

    def _init_weight(self, name, arr):
        _assign(arr, self._values(name, arr.shape))

    def _weight_moments(self, desc, shape):
        values = self._values(desc, shape).astype(np.float64)
        return (float(values.mean()), float(values.std())) if values.size else (0.0, 0.0)


# ----- random ----------------------------------------------------------------------------------------

def _fill_uniform(arr, scale):
    # One draw of the parameter's full shape, as MXNet's random.uniform(out=arr).
    _assign(arr, _random.uniform(-scale, scale, arr.shape, arr.dtype))


def _fill_normal(arr, sigma):
    _assign(arr, _random.normal(0, sigma, arr.shape, arr.dtype))


@register
class Uniform(Initializer):
    """Weights from U(-scale, scale): standard deviation ``scale / sqrt(3)``."""

    def __init__(self, scale=0.07):
        _check_number("Uniform", "scale", scale, 0)
        super().__init__(scale=scale)
        self.scale = scale

    def _init_weight(self, _, arr):
        _fill_uniform(arr, float(self.scale))

    def _weight_moments(self, desc, shape):
        return 0.0, float(self.scale) / math.sqrt(3)


@register
class Normal(Initializer):
    """Weights from N(0, sigma²)."""

    def __init__(self, sigma=0.01):
        _check_number("Normal", "sigma", sigma, 0)
        super().__init__(sigma=sigma)
        self.sigma = sigma

    def _init_weight(self, _, arr):
        _fill_normal(arr, float(self.sigma))

    def _weight_moments(self, desc, shape):
        return 0.0, float(self.sigma)


def _fans(name, shape, cls_name):
    """(fan_in, fan_out) of an (out, in, *kernel) weight, MXNet's convention."""
    if len(shape) < 2:
        raise ValueError(f"{cls_name} initializer cannot be applied to vector {name}. It requires at least 2D. "
                         "Use another initializer for it, e.g. Variable(init=mx.init.Zero()).")
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1.0
    return shape[1] * receptive, shape[0] * receptive


@register
class Xavier(Initializer):
    """Variance scaling, after Glorot & Bengio (2010), "Understanding the difficulty of training deep
    feedforward neural networks".

    With ``fan_in = shape[1] * prod(shape[2:])`` and ``fan_out = shape[0] * prod(shape[2:])``,
    ``factor`` is ``(fan_in + fan_out) / 2`` (``avg``), ``fan_in`` (``in``) or
    ``fan_out`` (``out``), and ``scale = sqrt(magnitude / factor)``. ``uniform``
    draws U(-scale, scale), so Var = magnitude / (3 factor); ``gaussian`` draws
    N(0, scale²), so Var = magnitude / factor. The defaults (uniform, avg, 3)
    give Glorot's Var = 2 / (fan_in + fan_out).
    """

    _RND_TYPES = ("uniform", "gaussian")
    _FACTOR_TYPES = ("avg", "in", "out")

    def __init__(self, rnd_type="uniform", factor_type="avg", magnitude=3):
        _check_choice(type(self).__name__, "rnd_type", rnd_type, self._RND_TYPES)
        _check_choice(type(self).__name__, "factor_type", factor_type, self._FACTOR_TYPES)
        magnitude_f = _check_number(type(self).__name__, "magnitude", magnitude, 0)
        super().__init__(rnd_type=rnd_type, factor_type=factor_type, magnitude=magnitude)
        self.rnd_type = rnd_type
        self.factor_type = factor_type
        self.magnitude = magnitude_f

    def _scale(self, name, shape):
        fan_in, fan_out = _fans(name, shape, "Xavier")
        factor = {"avg": (fan_in + fan_out) / 2.0, "in": fan_in, "out": fan_out}[self.factor_type]
        # Computed exactly as MXNet does (float64 sqrt of magnitude / factor), so
        # the bound rounds to the same float32 and the draws match bit for bit.
        return float(np.sqrt(self.magnitude / factor))

    def _init_weight(self, name, arr):
        scale = self._scale(name, arr.shape)
        if self.rnd_type == "uniform":
            _fill_uniform(arr, scale)
        else:
            _fill_normal(arr, scale)

    def _weight_moments(self, desc, shape):
        scale = self._scale(desc, shape)
        return 0.0, scale / math.sqrt(3) if self.rnd_type == "uniform" else scale


@register
class MSRAPrelu(Xavier):
    """He et al. (2015), "Delving Deep into Rectifiers" (MSRA/Kaiming init) for PReLU slopes.

    Gaussian variance scaling with ``magnitude = 2 / (1 + slope²)``: std =
    ``sqrt(magnitude / factor)`` with ``factor`` from ``factor_type`` as in
    ``Xavier``. ``slope=0`` gives the ReLU rule std = sqrt(2 / fan).
    """

    def __init__(self, factor_type="avg", slope=0.25):
        _check_number("MSRAPrelu", "slope", slope)
        super().__init__("gaussian", factor_type, 2.0 / (1 + slope ** 2))
        self._kwargs = {"factor_type": factor_type, "slope": slope}


@register
class Orthogonal(Initializer):
    """Saxe et al. (2014), "Exact solutions to the nonlinear dynamics of learning in deep linear neural
    networks": a random orthogonal matrix times ``scale``.

    The weight is viewed as ``(nout, nin)`` with ``nin = prod(shape[1:])``. A
    matrix A is drawn from U(-1, 1) (``rand_type='uniform'``) or N(0, 1)
    (``'normal'``), one draw of shape ``(nout, nin)`` as in MXNet, and
    orthonormalised by QR with R's diagonal made positive (Mezzadri 2007, "How to
    generate random matrices from the classical compact groups"): the rows
    (nout <= nin) or columns (nout > nin) of the result are orthonormal, so
    W·Wᵀ = scale²·I (or Wᵀ·W). MXNet uses an SVD instead: same distribution
    family, same draws, different values, and an SVD of a 4096² weight takes
    minutes. Each entry has mean square ``scale² / max(nout, nin)``.
    """

    _RAND_TYPES = ("uniform", "normal")

    def __init__(self, scale=1.414, rand_type="uniform"):
        _check_number("Orthogonal", "scale", scale)
        _check_choice("Orthogonal", "rand_type", rand_type, self._RAND_TYPES)
        super().__init__(scale=scale, rand_type=rand_type)
        self.scale = scale
        self.rand_type = rand_type

    @staticmethod
    def _dims(name, shape):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer cannot be applied to {name} of shape {tuple(shape)}: it "
                             "needs a weight with at least 2 dimensions (out, in, ...).")
        return shape[0], math.prod(shape[1:])

    def _init_weight(self, name, arr):
        nout, nin = self._dims(name, arr.shape)
        if self.rand_type == "uniform":
            tmp = _random.uniform(-1.0, 1.0, (nout, nin))
        else:
            tmp = _random.normal(0.0, 1.0, (nout, nin))
        tmp = tmp.astype(np.float64)
        q = _orthonormal_columns(tmp) if nout >= nin else _orthonormal_columns(tmp.T).T
        _assign(arr, (float(self.scale) * q).reshape(arr.shape).astype(arr.dtype))

    def _weight_moments(self, desc, shape):
        # ||W||_F² = scale² · min(nout, nin) exactly, spread over nout·nin entries.
        nout, nin = self._dims(desc, shape)
        return 0.0, abs(float(self.scale)) / math.sqrt(max(nout, nin))


def _orthonormal_columns(a):
    """Q of a = QR (a is m x n, m >= n) with R's diagonal positive.

    numpy forms Q with LAPACK's dorgqr, which doubles the cost of the
    factorisation; Q = A·R⁻¹ by blocked back-substitution costs one matmul.
    Its orthogonality error grows with cond(A), so near-singular draws (rare)
    take the Householder route.
    """
    if a.size == 0:
        return a
    r = np.linalg.qr(a, mode="r")
    diag = np.diagonal(r)
    signs = np.where(diag < 0, -1.0, 1.0)
    if np.abs(diag).min() <= 1e-6 * np.abs(diag).max():
        q, r = np.linalg.qr(a)
        return q * np.where(np.diagonal(r) < 0, -1.0, 1.0)
    r = r * signs[:, None]
    n = r.shape[0]
    q = np.empty_like(a)
    block = 256
    for j0 in range(0, n, block):
        j1 = min(j0 + block, n)
        rhs = a[:, j0:j1] - q[:, :j0] @ r[:j0, j0:j1] if j0 else a[:, j0:j1]
        q[:, j0:j1] = rhs @ np.linalg.inv(r[j0:j1, j0:j1])
    return q


# ----- structured ----------------------------------------------------------------------------------------

def _bilinear_kernel(name, shape):
    """The bilinear-upsampling kernel (for Deconvolution) repeated over every (out, in) pair."""
    if len(shape) != 4:
        raise ValueError(f"Bilinear initializer needs a 4-D (out, in, height, width) weight; {name} has shape "
                         f"{tuple(shape)}.")
    height, width = shape[2], shape[3]

    def axis(size):
        f = math.ceil(size / 2.0)
        c = (2 * f - 1 - f % 2) / (2.0 * f)
        return 1 - np.abs(np.arange(size) / f - c)

    # MXNet takes f and c from the width for both axes; use the height for y.
    kernel = np.outer(axis(height), axis(width)).astype(np.float32)
    return np.broadcast_to(kernel, shape)


@register
class Bilinear(Initializer):
    """The bilinear interpolation kernel, for Deconvolution layers that upsample.

    Per axis of size k, ``f = ceil(k / 2)``, ``c = (2f - 1 - f % 2) / (2f)`` and
    the weight at (y, x) is ``(1 - |x/f - c|) * (1 - |y/f - c|)``.
    """

    def __init__(self):
        super().__init__()

    def _init_weight(self, name, arr):
        self._init_bilinear(name, arr)

    def _weight_moments(self, desc, shape):
        values = _bilinear_kernel(desc, shape).astype(np.float64)
        return float(values.mean()), float(values.std())


@register
class LSTMBias(Initializer):
    """An LSTM's i2h/h2h bias: 0, except ``forget_bias`` for the forget gate (gate order i, f, c, o).

    Like every initializer it only overrides the weight rule, so reach it
    through ``Variable(init=LSTMBias())``: on a name ending in ``bias`` the
    suffix rule writes zeros.
    """

    def __init__(self, forget_bias=1.0):
        super().__init__(forget_bias=forget_bias)
        self.forget_bias = forget_bias

    def _values(self, shape):
        values = np.zeros(shape)
        n = int(shape[0] / 4)
        values[n:2 * n] = self.forget_bias
        return values

    def _init_weight(self, name, arr):
        _assign(arr, self._values(arr.shape))

    def _weight_moments(self, desc, shape):
        values = self._values(shape)
        return float(values.mean()), float(values.std())


_RNN_GATES = {"rnn_relu": ("",), "rnn_tanh": ("",), "lstm": ("_i", "_f", "_c", "_o"),
              "gru": ("_r", "_z", "_o")}


def fused_rnn_layout(size, num_hidden, num_layers, mode, bidirectional=False):
    """[(name, shape)] of the pieces of MXNet's flat fused-RNN parameter vector, in storage order.

    All weights come first, per layer and direction: i2h for each gate, then
    h2h for each gate; then all biases in the same order. Gate suffixes are
    MXNet's: lstm ``_i _f _c _o``, gru ``_r _z _o`` (the last is the "new" gate),
    none for rnn_relu/rnn_tanh. The input size is inferred from ``size``.
    """
    gates = _RNN_GATES[mode]
    dirs = ("l", "r") if bidirectional else ("l",)
    b, m, h = len(dirs), len(gates), num_hidden
    # size = b·m·h·(n_in + h + 2) + (num_layers - 1)·b·m·h·(b·h + h + 2)
    n_in, rest = divmod(size, b * m * h)
    n_in -= (num_layers - 1) * (b * h + h + 2) + h + 2
    if rest or n_in < 1:
        raise ValueError(f"FusedRNN: a parameter vector of {size} values does not fit mode={mode!r}, "
                         f"num_hidden={h}, num_layers={num_layers}, bidirectional={bidirectional}: it needs "
                         f"{b * m * h}·(input_size + {h + 2}) + {(num_layers - 1) * b * m * h * (b * h + h + 2)} "
                         "values. Check that the FusedRNN arguments match the RNN layer.")
    pieces = []
    for layer in range(num_layers):
        cols = n_in if layer == 0 else b * h
        for d in dirs:
            pieces += [(f"{d}{layer}_i2h{g}_weight", (h, cols)) for g in gates]
            pieces += [(f"{d}{layer}_h2h{g}_weight", (h, h)) for g in gates]
    for layer in range(num_layers):
        for d in dirs:
            pieces += [(f"{d}{layer}_{kind}{g}_bias", (h,)) for kind in ("i2h", "h2h") for g in gates]
    return pieces


@register
class FusedRNN(Initializer):
    """Initialize the single flat ``parameters`` vector of a fused RNN layer piece by piece.

    The vector is unpacked into MXNet's named pieces (``l0_i2h_i_weight``, ...,
    see ``fused_rnn_layout``); in ``lstm`` mode the ``*_f_bias`` pieces get
    ``forget_bias``; every other piece goes through ``init`` (or, if ``init`` is
    None, the outermost initializer) with the usual suffix rules, so the other
    biases are 0. ``init`` may be an Initializer, a registered name or a dumps()
    string.
    """

    def __init__(self, init, num_hidden, num_layers, mode, bidirectional=False, forget_bias=1.0):
        _check_choice("FusedRNN", "mode", mode, tuple(_RNN_GATES))
        for arg, value in (("num_hidden", num_hidden), ("num_layers", num_layers)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"FusedRNN: {arg} must be a positive integer, got {value!r}.")
        init = _coerce(init, "FusedRNN init")
        super().__init__(init=init.dumps() if isinstance(init, Initializer) else init, num_hidden=num_hidden,
                         num_layers=num_layers, mode=mode, bidirectional=bidirectional, forget_bias=forget_bias)
        self._init = init
        self._num_hidden = num_hidden
        self._num_layers = num_layers
        self._mode = mode
        self._bidirectional = bidirectional
        self._forget_bias = forget_bias

    def _piece_init(self, desc):
        init = self._init if self._init is not None else getattr(desc, "global_init", None)
        if init is None or (self._init is None and isinstance(init, FusedRNN)):
            raise ValueError(f"FusedRNN(init=None) on {desc} takes its piece initializer from the outer "
                             "initializer, and there is none. Pass one, e.g. FusedRNN(mx.init.Xavier(), ...).")
        return init

    def _pieces(self, desc, size):
        offset = 0
        for name, shape in fused_rnn_layout(size, self._num_hidden, self._num_layers, self._mode,
                                            self._bidirectional):
            n = math.prod(shape)
            yield name, shape, slice(offset, offset + n)
            offset += n

    def _init_weight(self, desc, arr):
        flat = np.empty(arr.size, arr.dtype)
        init = None
        for name, shape, span in self._pieces(desc, arr.size):
            piece = NDArray(flat[span].reshape(shape))    # a view: writes land in flat
            if self._mode == "lstm" and name.endswith("_f_bias"):
                _assign(piece, self._forget_bias)
            else:
                init = init or self._piece_init(desc)
                init(InitDesc(name, global_init=getattr(desc, "global_init", None)), piece)
        _assign(arr, flat.reshape(arr.shape))

    def _weight_moments(self, desc, shape):
        # Pool the pieces' moments: mean = Σn·m/N, var = Σn·(s² + m²)/N - mean².
        total = sum_mean = sum_sq = 0.0
        for name, piece_shape, span in self._pieces(desc, math.prod(shape)):
            n = span.stop - span.start
            if self._mode == "lstm" and name.endswith("_f_bias"):
                mean, std = float(self._forget_bias), 0.0
            else:
                plan = _explain_any(self._piece_init(desc), InitDesc(name, global_init=desc.global_init),
                                    piece_shape)
                mean, std = plan.mean, plan.std
            if mean is None or std is None:
                return None, None
            total, sum_mean, sum_sq = total + n, sum_mean + n * mean, sum_sq + n * (std ** 2 + mean ** 2)
        mean = sum_mean / total
        return mean, math.sqrt(max(sum_sq / total - mean ** 2, 0.0))


def __getattr__(name):
    # describe()/format_table() live in init_describe.py, which imports this module: load it on first use
    if name in ("describe", "format_table", "ParamRow"):
        from . import init_describe
        return getattr(init_describe, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
