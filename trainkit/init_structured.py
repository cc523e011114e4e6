"""Initializers for structured layers: ``Bilinear`` (upsampling kernels), ``LSTMBias`` (forget-gate bias)
and ``FusedRNN`` (a fused RNN's flat parameter vector, piece by piece)."""
import math

import numpy as np

from .ndarray.ndarray import NDArray
from .init_base import InitDesc, Initializer, _assign, _check_choice, _coerce, register
from .init_composite import _explain_any


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
