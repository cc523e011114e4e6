"""``mx.optimizer.contrib``: GroupAdaGrad, AdaGrad with one learning rate per row."""
from ..base import MXNetError
from ..ndarray.ndarray import zeros
from .optimizer import Optimizer, _check_pair, register

__all__ = ["GroupAdaGrad"]


@register
class GroupAdaGrad(Optimizer):
    """AdaGrad whose history is shared by each row of a 2-D weight::

        g = clip(rescale_grad * grad, clip_gradient)
        history = history + mean(g * g, axis=1, keepdims=True)     # shape (rows, 1)
        weight = weight - lr * g / sqrt(history + eps)

    Weight decay is not supported (as in MXNet).
    """

    def __init__(self, eps=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index, weight):
        if len(weight.shape) != 2:
            raise ValueError(f"GroupAdaGrad needs 2-D weights (one learning rate per row), got shape {weight.shape}.")
        return zeros((weight.shape[0], 1), weight.context)

    def update(self, index, weight, grad, state):
        _check_pair(self, index, weight, grad)
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        if wd != 0:
            raise MXNetError(f"Weight decay is not supported for GroupAdaGrad (got wd={wd}); pass wd=0.")
        w, xp = weight._data, weight._ctx.xp
        dt = w.dtype.type
        g = grad._data * dt(self.rescale_grad)
        if self.clip_gradient is not None:
            g = xp.clip(g, dt(-self.clip_gradient), dt(self.clip_gradient))
        history = state._data
        history += (g * g).mean(axis=1, keepdims=True).astype(history.dtype)
        w -= (dt(lr) * g / xp.sqrt(history + dt(self.float_stable_eps))).astype(w.dtype)
