"""The primitives, grouped by kind; ``core.REGISTRY`` maps MXNet operator names to them.

Every module that registers operators with ``table.operator`` is imported here, one
line each below the ``ndarray`` line, so importing this package completes the table
that ``mx.nd`` and ``mx.sym`` export.
"""
from .. import ndarray as _nd  # mx.nd first: it imports elementwise, nn, reduce and shape in the order they need
from . import elementwise, nn, reduce, shape  # noqa: F401,E402
from . import unary_math  # noqa: F401,E402
from . import attention, binary, contrib, creation, indexing, tensor  # noqa: F401,E402
from . import linalg, losses, norm, optimizer_ops  # noqa: F401,E402
from . import random_ops, random_pdf  # noqa: F401,E402

from .table import export_nd as _export_nd  # noqa: E402

_export_nd(vars(_nd))  # the modules imported above add their operators to mx.nd (and nd.linalg, ...)
