"""``mx.runtime``: which of MXNet's build features this runtime has (``Features().is_enabled('CUDA')``).

trainkit is numpy: LAPACK-backed linear algebra and float64 indexing are there, CUDA only through
CuPy; MXNet's compiled-library features (MKLDNN, TensorRT, ...) are off.
"""
import collections

_NAMES = ("CUDA", "CUDNN", "NCCL", "CUDA_RTC", "TENSORRT", "CPU_SSE", "CPU_SSE2", "CPU_SSE3", "CPU_SSE4_1",
          "CPU_SSE4_2", "CPU_SSE4A", "CPU_AVX", "CPU_AVX2", "OPENMP", "SSE", "F16C", "JEMALLOC", "BLAS_OPEN",
          "BLAS_ATLAS", "BLAS_MKL", "BLAS_APPLE", "LAPACK", "MKLDNN", "OPENCV", "CAFFE", "PROFILER",
          "DIST_KVSTORE", "CXX14", "INT64_TENSOR_SIZE", "SIGNAL_HANDLER", "DEBUG", "TVM_OP")
_ON = {"LAPACK", "CXX14"}


class Feature:
    """One build feature: ``name`` and ``enabled``, printed as MXNet does (``✔ LAPACK``)."""

    def __init__(self, name, enabled):
        self.name, self.enabled = name, enabled

    def __repr__(self):
        return f"{'✔' if self.enabled else '✖'} {self.name}"


def feature_list():
    from .context import num_gpus
    on = _ON | ({"CUDA"} if num_gpus() else set())
    return [Feature(name, name in on) for name in _NAMES]


class Features(collections.OrderedDict):
    """Name -> Feature, one instance per process (as MXNet's)."""

    instance = None

    def __new__(cls):
        if cls.instance is None:
            cls.instance = super().__new__(cls)
            super(Features, cls.instance).__init__((f.name, f) for f in feature_list())
        return cls.instance

    def __init__(self):  # filled once in __new__
        pass

    def __repr__(self):
        return str(list(self.values()))

    def is_enabled(self, feature_name):
        name = feature_name.upper()
        if name not in self:
            raise RuntimeError(f"Feature '{name}' is unknown, known features are: {list(self.keys())}")
        return self[name].enabled
