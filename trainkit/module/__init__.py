"""``mx.mod`` / ``mx.module``: Module, BucketingModule and BaseModule, laid out as MXNet's package."""
from .base_module import BaseModule, ModuleStateError, ModuleValueError  # noqa: F401
from .module import Module  # noqa: F401
from .bucketing_module import BucketingModule  # noqa: F401
from . import executor_group  # noqa: F401

__all__ = ["Module", "BaseModule", "BucketingModule"]
