"""Of MXNet's conv_layers.py only the padding layer: convolution and pooling are outside trainkit's scope."""
import numbers

from ..block import HybridBlock

__all__ = ["ReflectionPad2D"]


class ReflectionPad2D(HybridBlock):
    """Pads the last two axes of ``(N, C, H, W)`` by reflection (``padding``: an int or MXNet's 8-tuple)."""

    def __init__(self, padding=0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, numbers.Integral):
            padding = (0, 0, 0, 0, padding, padding, padding, padding)
        if len(padding) != 8:
            raise AssertionError(f"ReflectionPad2D takes an int or 8 pad widths (MXNet's pad_width), got {padding}.")
        self._padding = tuple(padding)

    def hybrid_forward(self, F, x):
        return F.pad(x, mode="reflect", pad_width=self._padding)
