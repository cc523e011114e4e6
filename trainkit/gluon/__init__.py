"""``mx.gluon``: MXNet 1.9.1's imperative model API on trainkit's engine.

``Block``/``HybridBlock`` (``block.py``), ``Parameter``/``ParameterDict``
(``parameter.py``), layers (``nn``), losses (``loss``), ``Trainer``, data
loading (``data``) and helpers (``utils``).
"""
from .parameter import Constant, DeferredInitializationError, Parameter, ParameterDict  # noqa: F401
from .block import Block, HybridBlock, SymbolBlock  # noqa: F401
from . import nn, loss, utils, data  # noqa: F401
from .trainer import Trainer  # noqa: F401

_OUT_OF_SCOPE = {"rnn": "recurrent layers (RNN operators)", "model_zoo": "the model zoo (convolutional networks)",
                 "contrib": "the contrib layers", "probability": "the probability layers"}


def __getattr__(name):
    if name in _OUT_OF_SCOPE:
        raise AttributeError(f"mx.gluon.{name} is not part of trainkit: {_OUT_OF_SCOPE[name]} are outside its scope "
                             "(no convolution, pooling, RNN or sparse operators). Build models from gluon.nn's "
                             "Dense, normalization, activation and embedding layers.")
    raise AttributeError(f"module 'trainkit.gluon' has no attribute {name!r}")
