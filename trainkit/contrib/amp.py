"""``mx.contrib.amp``: MXNet's automatic mixed precision, which trainkit does not provide.

AMP rewrites graphs to run some operators in float16 on GPUs with float16 kernels;
trainkit computes with numpy/CuPy in the dtypes you give. The module exists so that
``from mxnet.contrib.amp import amp`` imports; calling any of its functions raises
an error that says so. To train in float16 anyway, cast the data and parameters
(``net.cast('float16')``, ``mx.nd.cast``).
"""
import sys

from ..base import MXNetError

__all__ = ["init", "init_trainer", "scale_loss", "unscale", "convert_model", "convert_symbol",
           "convert_hybrid_block", "convert_bucketing_module", "list_fp16_ops", "list_fp32_ops"]

amp = sys.modules[__name__]  # MXNet's package holds its functions in a submodule also called amp


def _unsupported(name):
    def function(*args, **kwargs):
        raise MXNetError(f"mx.contrib.amp.{name}: automatic mixed precision is not supported by trainkit (it has "
                         "no float16 graph rewriting). Remove the AMP call, or cast data and parameters to "
                         "float16 yourself.")
    function.__name__ = function.__qualname__ = name
    function.__doc__ = "Not supported by trainkit: raises MXNetError."
    return function


for _name in __all__:
    globals()[_name] = _unsupported(_name)
