"""``mx.module.executor_group``: MXNet's multi-device executor group, which trainkit does not need.

MXNet's Module splits each batch over several devices with a
``DataParallelExecutorGroup``. trainkit runs one device, and its Module drives a
single ``Executor``-like plan directly, so the class exists for imports only.
"""
from ..base import MXNetError

__all__ = ["DataParallelExecutorGroup"]


class DataParallelExecutorGroup:
    """Not supported: trainkit runs a Module on one device (see ``mx.mod.Module``)."""

    def __init__(self, *args, **kwargs):
        raise MXNetError("DataParallelExecutorGroup (several devices at once) is not supported by trainkit: it runs "
                         "on one device. Use mx.mod.Module (or Symbol.simple_bind for a single Executor) instead.")
