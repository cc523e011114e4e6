"""Gluon's helpers: splitting a batch over devices, global gradient clipping, file checks."""
import hashlib
import os
import warnings

import numpy as np

from ..context import Context
from ..ndarray.ndarray import NDArray, array
from ..trainer_epoch import global_norm, scale_to_norm

__all__ = ["split_data", "split_and_load", "clip_global_norm", "check_sha1", "download", "replace_file"]


def _indent(s, num_spaces):
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    return "\n".join([lines[0]] + [num_spaces * " " + line for line in lines[1:]])


def split_data(data, num_slice, batch_axis=0, even_split=True):
    """Split ``data`` into ``num_slice`` parts along ``batch_axis`` (uneven: the first parts are one longer)."""
    size = data.shape[batch_axis]
    if even_split and size % num_slice != 0:
        raise ValueError(f"data with shape {data.shape} cannot be evenly split into {num_slice} slices along axis "
                         f"{batch_axis}. Use a batch size that's multiple of {num_slice} or set even_split=False "
                         "to allow uneven partitioning of data.")
    if size < num_slice:
        raise ValueError(f"Too many slices for data with shape {data.shape}. Arguments are num_slice={num_slice} "
                         f"and batch_axis={batch_axis}.")
    if num_slice == 1:
        return [data]
    from .. import nd
    # the first ``extras`` slices take one more sample (numpy's array_split, as MXNet)
    each, extras = divmod(size, num_slice)
    bounds = np.cumsum([0] + [each + 1] * extras + [each] * (num_slice - extras)).tolist()
    return [nd.slice_axis(data, axis=batch_axis, begin=bounds[i], end=bounds[i + 1]) for i in range(num_slice)]


def split_and_load(data, ctx_list, batch_axis=0, even_split=True):
    """Split ``data`` (NDArray or numpy) into one slice per context and put each on its context."""
    if isinstance(ctx_list, Context):
        ctx_list = [ctx_list]
    if not isinstance(data, NDArray):
        data = array(data, ctx=ctx_list[0])
    if len(ctx_list) == 1:
        return [data.as_in_context(ctx_list[0])]
    slices = split_data(data, len(ctx_list), batch_axis, even_split)
    return [s.as_in_context(c) for s, c in zip(slices, ctx_list)]


def clip_global_norm(arrays, max_norm, check_isfinite=True):
    """Scale ``arrays`` in place so their joint 2-norm is at most ``max_norm``; returns the norm before."""
    if len(arrays) == 0:
        raise AssertionError("arrays must not be empty")
    total_norm = global_norm(arrays)
    if check_isfinite and not np.isfinite(total_norm):
        warnings.warn(UserWarning("nan or inf is detected. Clipping results will be undefined."), stacklevel=2)
    with np.errstate(invalid="ignore"):  # an infinite norm gives NaNs, after the warning above
        scale_to_norm(arrays, total_norm, max_norm)
    return total_norm if check_isfinite else array([total_norm])


def check_sha1(filename, sha1_hash):
    """Whether the file's SHA-1 equals ``sha1_hash`` (hex)."""
    sha1 = hashlib.sha1()
    with open(filename, "rb") as f:
        while True:
            data = f.read(1048576)
            if not data:
                break
            sha1.update(data)
    return sha1.hexdigest() == sha1_hash


def replace_file(src, dst):
    os.replace(src, dst)


def download(url, path=None, overwrite=False, sha1_hash=None, retries=5, verify_ssl=True):
    """trainkit does not download: returns the local file when it is already there, else says where to put it."""
    fname = url.split("/")[-1]
    if path is not None:
        fname = os.path.join(os.path.expanduser(path), fname) if os.path.isdir(os.path.expanduser(path)) \
            else os.path.expanduser(path)
    if os.path.exists(fname) and not overwrite and (not sha1_hash or check_sha1(fname, sha1_hash)):
        return fname
    raise RuntimeError(f"gluon.utils.download: trainkit has no network access, so it cannot fetch {url}. Download "
                       f"the file yourself and place it at {os.path.abspath(fname)}; download() then returns that "
                       "path.")
