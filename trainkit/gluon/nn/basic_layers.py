"""Gluon's basic layers: containers, Dense, Dropout, BatchNorm, LayerNorm, Embedding, Flatten, Lambda.

Names, defaults, parameter shapes and ``repr`` are MXNet 1.9.1's. Layers whose
parameter shapes depend on the data (``in_units=0``) override
``_infer_param_shapes`` with the direct rule, so deferred initialization does not
need the symbolic shape pass. Where ``F`` lacks an operator (LayerNorm, Embedding
on builds of trainkit that do not have them), the layer composes it from basic ones.
"""
import warnings

import numpy as np

from ..block import Block, HybridBlock
from ..utils import _indent
from .activations import Activation

__all__ = ["Sequential", "HybridSequential", "Dense", "Dropout", "Embedding", "BatchNorm", "InstanceNorm",
           "LayerNorm", "GroupNorm", "Flatten", "Lambda", "HybridLambda"]


class Sequential(Block):
    """Runs its children one after the other."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def add(self, *blocks):
        for block in blocks:
            self.register_child(block)

    def forward(self, x, *args):
        for block in self._children.values():
            x = block(x, *args)
            args = []
            if isinstance(x, (tuple, list)):
                args = x[1:]
                x = x[0]
        if args:
            x = tuple([x] + list(args))
        return x

    def __repr__(self):
        modstr = "\n".join(f"  ({key}): {_indent(block.__repr__(), 2)}" for key, block in self._children.items())
        return f"{self.__class__.__name__}(\n{modstr}\n)"

    def __getitem__(self, key):
        layers = list(self._children.values())[key]
        if isinstance(layers, list):
            net = type(self)(prefix=self._prefix)
            with net.name_scope():
                net.add(*layers)
            return net
        return layers

    def __len__(self):
        return len(self._children)

    def hybridize(self, active=True, **kwargs):
        if self._children and all(isinstance(c, HybridBlock) for c in self._children.values()):
            warnings.warn(f"All children of this Sequential layer '{self.prefix}' are HybridBlocks. Consider using "
                          "HybridSequential for the best performance.", stacklevel=2)
        super().hybridize(active, **kwargs)


class HybridSequential(HybridBlock):
    """Runs its (hybrid) children one after the other; hybridizes as one graph."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def add(self, *blocks):
        for block in blocks:
            self.register_child(block)

    def hybrid_forward(self, F, x, *args):
        for block in self._children.values():
            x = block(x, *args)
            args = []
            if isinstance(x, (tuple, list)):
                args = x[1:]
                x = x[0]
        if args:
            x = tuple([x] + list(args))
        return x

    def _infer_param_shapes(self, *args):
        pass  # children infer their own shapes when they run

    __repr__ = Sequential.__repr__
    __len__ = Sequential.__len__

    def __getitem__(self, key):
        return Sequential.__getitem__(self, key)


class Dense(HybridBlock):
    """``activation(dot(x, weight.T) + bias)``; ``weight`` is ``(units, in_units)``, in_units found on first call."""

    def __init__(self, units, activation=None, use_bias=True, flatten=True, dtype="float32", weight_initializer=None,
                 bias_initializer="zeros", in_units=0, **kwargs):
        super().__init__(**kwargs)
        self._flatten = flatten
        with self.name_scope():
            self._units = units
            self._in_units = in_units
            self.weight = self.params.get("weight", shape=(units, in_units), init=weight_initializer, dtype=dtype,
                                          allow_deferred_init=True)
            if use_bias:
                self.bias = self.params.get("bias", shape=(units,), init=bias_initializer, dtype=dtype,
                                            allow_deferred_init=True)
            else:
                self.bias = None
            self.act = Activation(activation, prefix=activation + "_") if activation is not None else None

    def hybrid_forward(self, F, x, weight, bias=None):
        act = F.FullyConnected(x, weight, bias, no_bias=bias is None, num_hidden=self._units, flatten=self._flatten,
                               name="fwd")
        if self.act is not None:
            act = self.act(act)
        return act

    def _infer_param_shapes(self, x, *args):
        in_units = int(np.prod(x.shape[1:])) if self._flatten else x.shape[-1]
        self.weight.shape = (self._units, in_units)

    def __repr__(self):
        shape = self.weight.shape
        layout = f"{shape[1] if shape[1] else None} -> {shape[0]}"
        return f"{self.__class__.__name__}({layout}, {self.act if self.act else 'linear'})"


class Dropout(HybridBlock):
    """Zeroes inputs with probability ``rate`` while training (``axes``: dimensions sharing one mask)."""

    def __init__(self, rate, axes=(), **kwargs):
        super().__init__(**kwargs)
        self._rate = rate
        self._axes = axes

    def hybrid_forward(self, F, x):
        if self._rate > 0:
            return F.Dropout(x, p=self._rate, axes=self._axes, name="fwd", cudnn_off=False)
        return F.identity(x)

    def __repr__(self):
        return f"{self.__class__.__name__}(p = {self._rate}, axes={self._axes})"


class BatchNorm(HybridBlock):
    """Per-channel batch normalization with moving statistics (``running_mean``/``running_var``)."""

    def __init__(self, axis=1, momentum=0.9, epsilon=1e-5, center=True, scale=True, use_global_stats=False,
                 beta_initializer="zeros", gamma_initializer="ones", running_mean_initializer="zeros",
                 running_variance_initializer="ones", in_channels=0, **kwargs):
        super().__init__(**kwargs)
        self._kwargs = {"axis": axis, "eps": epsilon, "momentum": momentum, "fix_gamma": not scale,
                        "use_global_stats": use_global_stats}
        self._axis = axis
        if in_channels != 0:
            self.in_channels = in_channels
        self.gamma = self.params.get("gamma", grad_req="write" if scale else "null", shape=(in_channels,),
                                     init=gamma_initializer, allow_deferred_init=True, differentiable=scale)
        self.beta = self.params.get("beta", grad_req="write" if center else "null", shape=(in_channels,),
                                    init=beta_initializer, allow_deferred_init=True, differentiable=center)
        self.running_mean = self.params.get("running_mean", grad_req="null", shape=(in_channels,),
                                            init=running_mean_initializer, allow_deferred_init=True,
                                            differentiable=False)
        self.running_var = self.params.get("running_var", grad_req="null", shape=(in_channels,),
                                           init=running_variance_initializer, allow_deferred_init=True,
                                           differentiable=False)

    def cast(self, dtype):
        if np.dtype(dtype).name == "float16":
            dtype = "float32"
        super().cast(dtype)

    def hybrid_forward(self, F, x, gamma, beta, running_mean, running_var):
        return F.BatchNorm(x, gamma, beta, running_mean, running_var, name="fwd", **self._kwargs)

    def _infer_param_shapes(self, x, *args):
        channels = x.shape[self._axis]
        for p in (self.gamma, self.beta, self.running_mean, self.running_var):
            p.shape = (channels,)

    def __repr__(self):
        content = ", ".join("=".join([k, v.__repr__()]) for k, v in self._kwargs.items())
        in_channels = self.gamma.shape[0]
        return f"{self.__class__.__name__}({content}, in_channels={in_channels if in_channels else None})"


def _normalize(F, x, axes, eps):
    """``(x - mean) / sqrt(var + eps)`` over ``axes`` from basic operators."""
    mean = F.mean(x, axis=axes, keepdims=True)
    centred = F.broadcast_sub(x, mean)
    var = F.mean(F.square(centred), axis=axes, keepdims=True)
    return F.broadcast_div(centred, F.sqrt(var + eps))


class _PerChannelNorm(HybridBlock):
    """What LayerNorm and InstanceNorm share: gamma and beta of one entry per channel of ``axis``."""

    def _infer_param_shapes(self, x, *args):
        for p in (self.gamma, self.beta):
            p.shape = (x.shape[self._axis],)

    def __repr__(self):
        content = ", ".join("=".join([k, v.__repr__()]) for k, v in self._kwargs.items())
        return f"{self.__class__.__name__}({content}, in_channels={self.gamma.shape[0]})"


class LayerNorm(_PerChannelNorm):
    """Normalizes over ``axis`` per sample, then scales by ``gamma`` and shifts by ``beta``."""

    def __init__(self, axis=-1, epsilon=1e-5, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", in_channels=0, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {"eps": epsilon, "axis": axis, "center": center, "scale": scale}
        self._axis = axis
        self._epsilon = epsilon
        self._center = center
        self._scale = scale
        self.gamma = self.params.get("gamma", grad_req="write" if scale else "null", shape=(in_channels,),
                                     init=gamma_initializer, allow_deferred_init=True)
        self.beta = self.params.get("beta", grad_req="write" if center else "null", shape=(in_channels,),
                                    init=beta_initializer, allow_deferred_init=True)

    def hybrid_forward(self, F, data, gamma, beta):
        if hasattr(F, "LayerNorm"):
            return F.LayerNorm(data, gamma=gamma, beta=beta, axis=self._axis, eps=self._epsilon)
        out = _normalize(F, data, self._axis, self._epsilon)
        ndim = len(data.shape)
        axis = self._axis % ndim
        bshape = tuple(-1 if i == axis else 1 for i in range(ndim))
        return F.broadcast_add(F.broadcast_mul(out, F.reshape(gamma, bshape)), F.reshape(beta, bshape))


class InstanceNorm(_PerChannelNorm):
    """Normalizes each sample and channel over the remaining axes (``axis`` is the channel axis)."""

    def __init__(self, axis=1, epsilon=1e-5, center=True, scale=False, beta_initializer="zeros",
                 gamma_initializer="ones", in_channels=0, **kwargs):
        super().__init__(**kwargs)
        self._kwargs = {"eps": epsilon, "axis": axis, "center": center, "scale": scale}
        self._axis = axis
        self._epsilon = epsilon
        self.gamma = self.params.get("gamma", grad_req="write" if scale else "null", shape=(in_channels,),
                                     init=gamma_initializer, allow_deferred_init=True)
        self.beta = self.params.get("beta", grad_req="write" if center else "null", shape=(in_channels,),
                                    init=beta_initializer, allow_deferred_init=True)

    def hybrid_forward(self, F, x, gamma, beta):
        ndim = len(x.shape)
        axis = self._axis % ndim
        if hasattr(F, "InstanceNorm") and axis == 1:
            return F.InstanceNorm(x, gamma, beta, name="fwd", eps=self._epsilon)
        axes = tuple(a for a in range(1, ndim) if a != axis)
        out = _normalize(F, x, axes, self._epsilon)
        bshape = tuple(-1 if i == axis else 1 for i in range(ndim))
        return F.broadcast_add(F.broadcast_mul(out, F.reshape(gamma, bshape)), F.reshape(beta, bshape))


class GroupNorm(HybridBlock):
    """Normalizes each sample over groups of channels (axis 1), then scales and shifts per channel."""

    def __init__(self, num_groups=1, epsilon=1e-5, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {"eps": epsilon, "num_groups": num_groups, "center": center, "scale": scale}
        self._num_groups = num_groups
        self._epsilon = epsilon
        self._center = center
        self._scale = scale
        self.gamma = self.params.get("gamma", grad_req="write" if scale else "null", shape=(num_groups,),
                                     init=gamma_initializer, allow_deferred_init=True)
        self.beta = self.params.get("beta", grad_req="write" if center else "null", shape=(num_groups,),
                                    init=beta_initializer, allow_deferred_init=True)

    def hybrid_forward(self, F, data, gamma, beta):
        if hasattr(F, "GroupNorm"):
            return F.GroupNorm(data, gamma=gamma, beta=beta, num_groups=self._num_groups, eps=self._epsilon)
        # MXNet 1.9.1's GroupNorm has one gamma/beta per group
        grouped = F.reshape(data, (0, self._num_groups, -1))
        out = _normalize(F, grouped, 2, self._epsilon)
        out = F.broadcast_add(F.broadcast_mul(out, F.reshape(gamma, (1, -1, 1))), F.reshape(beta, (1, -1, 1)))
        return F.reshape(out, data.shape)

    def __repr__(self):
        content = ", ".join("=".join([k, v.__repr__()]) for k, v in self._kwargs.items())
        return f"{self.__class__.__name__}({content})"


class Embedding(HybridBlock):
    """Looks up rows of ``weight`` (``(input_dim, output_dim)``) by integer index."""

    def __init__(self, input_dim, output_dim, dtype="float32", weight_initializer=None, sparse_grad=False,
                 **kwargs):
        super().__init__(**kwargs)
        grad_stype = "row_sparse" if sparse_grad else "default"
        self._kwargs = {"input_dim": input_dim, "output_dim": output_dim, "dtype": dtype, "sparse_grad": sparse_grad}
        self.weight = self.params.get("weight", shape=(input_dim, output_dim), init=weight_initializer, dtype=dtype,
                                      allow_deferred_init=True, grad_stype=grad_stype)

    def hybrid_forward(self, F, x, weight):
        if hasattr(F, "Embedding"):
            return F.Embedding(x, weight, name="fwd", **self._kwargs)
        return F.take(weight, x, axis=0, mode="clip")

    def __repr__(self):
        return "{block_name}({input_dim} -> {output_dim}, {dtype})".format(block_name=self.__class__.__name__,
                                                                           **self._kwargs)


class Flatten(HybridBlock):
    """Reshapes ``(N, ...)`` to ``(N, -1)``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def hybrid_forward(self, F, x):
        return F.Flatten(x)

    def __repr__(self):
        return self.__class__.__name__


class Lambda(Block):
    """A Block from a function of NDArrays, or the name of an ``mx.nd`` function (``Lambda('tanh')``)."""

    def __init__(self, function, prefix=None):
        super().__init__(prefix=prefix)
        if isinstance(function, str):
            from ... import nd
            if not hasattr(nd, function):
                raise AssertionError(f"Function name {function} is not found in ndarray.")
            self._func_impl = getattr(nd, function)
        elif callable(function):
            self._func_impl = function
        else:
            raise ValueError(f"Unrecognized function in lambda: {function} of type {type(function)}")

    def forward(self, *args):
        return self._func_impl(*args)

    def __repr__(self):
        return f"{self.__class__.__name__}({self._func_impl.__name__})"


class HybridLambda(HybridBlock):
    """A HybridBlock from ``function(F, *args)``, or the name of an operator both ``mx.nd`` and ``mx.sym`` have."""

    def __init__(self, function, prefix=None):
        super().__init__(prefix=prefix)
        if isinstance(function, str):
            from ... import nd
            if not hasattr(nd, function):
                raise AssertionError(f"Function name {function} is not found in symbol/ndarray.")
            self._func = lambda F, *args: getattr(F, function)(*args)
            self._func_name = function
        elif callable(function):
            self._func = function
            self._func_name = function.__name__
        else:
            raise ValueError(f"Unrecognized function in lambda: {function} of type {type(function)}")

    def hybrid_forward(self, F, x, *args):
        return self._func(F, x, *args)

    def _infer_param_shapes(self, *args):
        pass

    def __repr__(self):
        return f"{self.__class__.__name__}({self._func_name})"

