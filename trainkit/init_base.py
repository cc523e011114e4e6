"""The base of every initializer: ``Initializer`` (the name rules, ``dumps``, the plan of a fill), ``InitDesc``,
the registry (``register``, ``alias``, ``create``) and shared argument checks. The classes are in init_basic.py,
init_composite.py and init_structured.py; ``trainkit.initializer`` (``mx.init``) is their public face."""
import json
import logging
import math
import os
import warnings

import numpy as np

from . import random_streams as _random  # numpy draws from MXNet's bank (mx.random returns NDArrays)
from .ndarray.ndarray import NDArray




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
        from .init_structured import _bilinear_kernel  # the subclasses' files import this one
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
            from .init_basic import One, Zero  # the subclasses' files import this one
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
