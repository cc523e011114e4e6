"""``mx.optimizer``: weight updates with MXNet 1.9.1's formulas, defaults and bookkeeping.

Each optimizer updates ``weight`` in place from ``grad`` and its per-weight
``state``. The element-wise maths reproduces MXNet's CPU kernels (``sgd_update``,
``adam_update``, ``nag_mom_update``, ``signum_update``, ``ftml_update``,
``ftrl_update``, ``lamb_update_phase1/2``, ...) and MXNet's Python optimizers
(AdaGrad, AdaDelta, Adamax, Nadam, DCASGD, SGLD): the same operations in the
weight's dtype, so float32 results agree with MXNet's up to rounding. The gradient
is never written to: Module and autograd may hand the same buffer to several readers.

Modules: ``optimizer`` (the base class, registry, learning-rate and multiplier
bookkeeping), ``sgd`` (SGD, NAG, Signum, LARS, LBSGD, DCASGD, SGLD, ccSGD),
``adaptive`` (Adam, RMSProp, AdaGrad, AdaDelta, Adamax, Nadam, FTML, Ftrl, LAMB),
``updater`` (Updater, get_updater), ``contrib`` (GroupAdaGrad).
"""
from . import contrib, optimizer  # noqa: F401
from .optimizer import Optimizer, Test, create, register
from .sgd import DCASGD, LARS, LBSGD, NAG, SGD, SGLD, Signum, ccSGD
from .adaptive import LAMB, FTML, AdaDelta, AdaGrad, Adam, Adamax, Ftrl, Nadam, RMSProp
from .updater import Updater, get_updater
from ..ops.elementwise import abs as NDabs  # noqa: N812 (MXNet exports it under this name)

__all__ = ["AdaDelta", "AdaGrad", "Adam", "Adamax", "DCASGD", "FTML", "Ftrl", "LARS", "LBSGD", "NAG",
           "NDabs", "Nadam", "Optimizer", "RMSProp", "SGD", "SGLD", "Signum", "LAMB", "Test", "Updater",
           "ccSGD", "create", "get_updater", "register", "contrib"]
