"""``mx.random``: ``seed`` and MXNet 1.x's samplers, which return NDArrays (``mx.random.uniform`` is
``mx.nd.random.uniform``).

The generator itself, bit-exact with MXNet 1.9.1's CPU streams, is ``trainkit.random_streams``;
``get_state``/``set_state`` snapshot it for checkpoints and ``permutation`` draws from the data-shuffle
stream (both reset by ``seed``).
"""
from .ndarray.random import (exponential, gamma, generalized_negative_binomial, multinomial,  # noqa: F401
                             negative_binomial, normal, poisson, randint, randn, shuffle, uniform)
from .random_streams import get_state, permutation, seed, set_state  # noqa: F401

__all__ = ["seed", "uniform", "normal", "randn", "randint", "gamma", "exponential", "poisson",
           "negative_binomial", "generalized_negative_binomial", "multinomial", "shuffle",
           "get_state", "set_state", "permutation"]


def __getattr__(name):
    """The generator's internals (``_bank``, ``_init_keys``, ...) stay reachable here for code written
    before they moved to ``trainkit.random_streams`` (checkpointing reads them)."""
    from . import random_streams
    try:
        return getattr(random_streams, name)
    except AttributeError:
        raise AttributeError(f"module 'trainkit.random' has no attribute {name!r}") from None
