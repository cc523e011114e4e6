"""``mx.io``: data descriptions, batches and iterators, as in MXNet 1.9.1.

Modules: ``io`` (DataDesc, DataBatch, DataIter, NDArrayIter), ``readers`` (CSVIter,
MNISTIter), ``wrappers`` (ResizeIter, PrefetchingIter).
"""
from . import io  # noqa: F401
from .io import DataBatch, DataDesc, DataIter, NDArrayIter, shuffle_source  # noqa: F401
from .readers import CSVIter, MNISTIter  # noqa: F401
from .wrappers import PrefetchingIter, ResizeIter  # noqa: F401

MXDataIter = DataIter

__all__ = ["DataDesc", "DataBatch", "DataIter", "NDArrayIter", "CSVIter", "MNISTIter", "ResizeIter",
           "PrefetchingIter", "MXDataIter"]
