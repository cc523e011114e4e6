"""Gluon's activation layers (MXNet 1.9.1's names, defaults and ``repr``)."""
from ... import initializer
from ..block import HybridBlock

__all__ = ["Activation", "LeakyReLU", "PReLU", "ELU", "SELU", "Swish", "GELU"]


class Activation(HybridBlock):
    """``mx.nd.Activation`` with ``act_type`` ``relu``, ``sigmoid``, ``tanh``, ``softrelu`` or ``softsign``."""

    def __init__(self, activation, **kwargs):
        self._act_type = activation
        super().__init__(**kwargs)

    def _alias(self):
        return self._act_type

    def hybrid_forward(self, F, x):
        return F.Activation(x, act_type=self._act_type, name="fwd")

    def __repr__(self):
        return f"{self.__class__.__name__}({self._act_type})"


class LeakyReLU(HybridBlock):
    """``x`` for ``x > 0``, ``alpha * x`` otherwise."""

    def __init__(self, alpha, **kwargs):
        if alpha < 0:
            raise AssertionError("Slope coefficient for LeakyReLU must be no less than 0.")
        super().__init__(**kwargs)
        self._alpha = alpha

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type="leaky", slope=self._alpha, name="fwd")

    def __repr__(self):
        return f"{self.__class__.__name__}({self._alpha})"


class PReLU(HybridBlock):
    """Leaky ReLU with a learned slope ``alpha`` (one per channel, or one shared when ``in_channels=1``)."""

    def __init__(self, alpha_initializer=initializer.Constant(0.25), in_channels=1, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.alpha = self.params.get("alpha", shape=(in_channels,), init=alpha_initializer)

    def hybrid_forward(self, F, x, alpha):
        return F.LeakyReLU(x, gamma=alpha, act_type="prelu", name="fwd")


class ELU(HybridBlock):
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self._alpha = alpha

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type="elu", slope=self._alpha)


class SELU(HybridBlock):
    """Scaled ELU with the self-normalizing constants."""

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type="selu", name="fwd")


_GELU_OP = []


def _erf_gelu_available():
    """Whether ``LeakyReLU`` knows ``gelu`` (the erf form MXNet uses); asked once."""
    if not _GELU_OP:
        from ...base import MXNetError
        from ... import nd
        try:
            nd.LeakyReLU(nd.zeros((1,)), act_type="gelu")
            _GELU_OP.append(True)
        except (MXNetError, ValueError, KeyError, TypeError):
            _GELU_OP.append(False)
    return _GELU_OP[0]


class GELU(HybridBlock):
    """``x * Phi(x)`` (MXNet's erf form)."""

    def hybrid_forward(self, F, x):
        if _erf_gelu_available():
            return F.LeakyReLU(x, act_type="gelu", name="fwd")
        # without an erf operator: the tanh approximation (agrees to ~1e-3)
        inner = (x + 0.044715 * F.square(x) * x) * 0.7978845608028654
        return 0.5 * x * (F.tanh(inner) + 1.0)


class Swish(HybridBlock):
    """``x * sigmoid(beta * x)``."""

    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self._beta = beta

    def hybrid_forward(self, F, x):
        return x * F.sigmoid(self._beta * x, name="fwd")

