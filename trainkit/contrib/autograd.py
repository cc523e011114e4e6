"""``mx.contrib.autograd``: MXNet's first autograd API, where training mode and recording are one switch.

Kept for old code (``mark_variables``, ``train_section``, ``compute_gradient``, ``grad_and_loss``);
everything runs on ``mx.autograd``.
"""
import functools

from .. import autograd as _ag


def set_is_training(is_train):
    """Switch recording and training mode together; returns the previous state."""
    prev = _ag.is_recording()
    _ag.set_recording(bool(is_train))
    _ag.set_training(bool(is_train))
    return prev


class TrainingStateScope:
    """Recording + training set to ``enter_state`` inside the ``with`` block, restored after it."""

    def __init__(self, enter_state):
        self._enter_state = enter_state
        self._prev = None

    def __enter__(self):
        self._prev = (_ag.is_recording(), _ag.is_training())
        _ag.set_recording(self._enter_state)
        _ag.set_training(self._enter_state)

    def __exit__(self, *exc):
        _ag.set_recording(self._prev[0])
        _ag.set_training(self._prev[1])


def train_section():
    """``with train_section():`` records, in training mode."""
    return TrainingStateScope(True)


def test_section():
    """``with test_section():`` inside a train_section: neither records nor trains."""
    return TrainingStateScope(False)


def mark_variables(variables, gradients, grad_reqs="write"):
    _ag.mark_variables(variables, gradients, grad_reqs)


def backward(outputs, out_grads=None, retain_graph=False):
    _ag.backward(outputs, out_grads, retain_graph)


def compute_gradient(outputs):
    """``backward(outputs)`` (deprecated in MXNet too)."""
    backward(outputs)


def grad_and_loss(func, argnum=None):
    """``wrapped(*args) -> (gradients of func's output w.r.t. the args, the output)``."""
    @functools.wraps(func)
    def wrapped(*args):
        from ..ndarray import NDArray, zeros_like
        variables = list(args)
        if argnum is not None:
            indices = argnum if isinstance(argnum, list) else [argnum]
            variables = [args[i] for i in indices]
        for x in variables:
            if not isinstance(x, NDArray):
                raise TypeError(f"grad_and_loss: the differentiated arguments must be NDArrays, got "
                                f"{type(x).__name__}.")
        grads = [zeros_like(x) for x in variables]
        mark_variables(variables, grads)
        with train_section():
            outputs = func(*args)
        compute_gradient([outputs] if isinstance(outputs, NDArray) else outputs)
        return grads, outputs
    return wrapped


def grad(func, argnum=None):
    """``wrapped(*args) -> gradients`` of ``func``'s output w.r.t. the args (or those in ``argnum``)."""
    grad_with_loss = grad_and_loss(func, argnum)

    @functools.wraps(grad_with_loss)
    def wrapped(*args):
        return grad_with_loss(*args)[0]
    return wrapped
