"""Image transforms for ``Dataset.transform_first``: Compose, Cast, ToTensor, Normalize."""
import numpy as np

from ...block import HybridBlock
from ...nn import Sequential, HybridSequential

__all__ = ["Compose", "Cast", "ToTensor", "Normalize"]


class Compose(Sequential):
    """Applies ``transforms`` in order (consecutive HybridBlocks are grouped, as MXNet)."""

    def __init__(self, transforms):
        super().__init__()
        transforms.append(None)
        hybrid = []
        for i in transforms:
            if isinstance(i, HybridBlock):
                hybrid.append(i)
                continue
            if len(hybrid) == 1:
                self.add(hybrid[0])
                hybrid = []
            elif len(hybrid) > 1:
                hblock = HybridSequential()
                for j in hybrid:
                    hblock.add(j)
                hblock.hybridize()
                self.add(hblock)
                hybrid = []
            if i is not None:
                self.add(i)


class Cast(HybridBlock):
    """Casts the input to ``dtype``."""

    def __init__(self, dtype="float32"):
        super().__init__()
        self._dtype = dtype

    def hybrid_forward(self, F, x):
        return F.cast(x, self._dtype)


class ToTensor(HybridBlock):
    """``(H, W, C)`` or ``(N, H, W, C)`` uint8 in [0, 255] -> ``(C, H, W)`` / ``(N, C, H, W)`` float32 in [0, 1)."""

    def __init__(self):
        super().__init__()

    def hybrid_forward(self, F, x):
        if len(x.shape) not in (3, 4):
            raise ValueError(f"ToTensor expects an image (H, W, C) or a batch (N, H, W, C), got shape {x.shape}.")
        axes = (2, 0, 1) if len(x.shape) == 3 else (0, 3, 1, 2)
        return F.transpose(F.cast(x, "float32"), axes=axes) / 255.0


class Normalize(HybridBlock):
    """``(x - mean) / std`` per channel of a ``(C, H, W)`` or ``(N, C, H, W)`` tensor."""

    def __init__(self, mean=0.0, std=1.0):
        super().__init__()
        self._mean = mean
        self._std = std

    def hybrid_forward(self, F, x):
        c_axis = 0 if len(x.shape) == 3 else 1
        shape = [1] * len(x.shape)
        shape[c_axis] = -1
        from .... import nd
        mean = nd.array(np.array(self._mean, dtype=np.float32).reshape(-1).reshape(shape), ctx=x.context)
        std = nd.array(np.array(self._std, dtype=np.float32).reshape(-1).reshape(shape), ctx=x.context)
        return F.broadcast_div(F.broadcast_sub(x, mean), std)



