"""MXNet 1.x's binary NDArray file format (``mx.nd.save`` / ``mx.nd.load``), on numpy.

Layout (all little-endian), as written by MXNet 1.9.1 in its default
(non-numpy-shape) mode:

    uint64 0x112 (list magic) | uint64 0 (reserved) | uint64 N arrays
    N x array:  uint32 0xF993FAC9 (V2 magic) | int32 stype (0 = dense)
                int32 ndim | int64 dims[ndim]
                int32 dev_type (1 = cpu) | int32 dev_id
                int32 dtype flag | raw data bytes (C order)
    uint64 K names (0 for a list, N for a dict) | K x (uint64 length, UTF-8 bytes)

The loader also reads the two older per-array layouts MXNet itself still
accepts: V1 (magic 0xF993FAC8, no stype field) and the pre-magic one, where
the first uint32 is ndim and the dims are uint32.
"""
import os
import struct

import numpy as np

__all__ = ["save", "dumps", "load", "load_frombuffer"]

_LIST_MAGIC = 0x112
_V1_MAGIC = 0xF993FAC8
_V2_MAGIC = 0xF993FAC9
_V3_MAGIC = 0xF993FACA       # numpy-shape mode (mx.npx.set_np); not produced here
_CPU = 1
_DENSE = 0

# MXNet's mshadow type flags. Saving is limited to the dtypes MXNet 1.x's
# legacy NDArray API handles everywhere; loading accepts every flag MXNet
# can write so files from numpy-mode MXNet still open.
_SAVE_FLAGS = {
    np.dtype(np.float32): 0, np.dtype(np.float64): 1, np.dtype(np.float16): 2,
    np.dtype(np.uint8): 3, np.dtype(np.int32): 4, np.dtype(np.int8): 5,
    np.dtype(np.int64): 6,
}
_LOAD_DTYPES = {flag: dt for dt, flag in _SAVE_FLAGS.items()}
_LOAD_DTYPES.update({7: np.dtype(np.bool_), 8: np.dtype(np.int16), 9: np.dtype(np.uint16),
                     10: np.dtype(np.uint32), 11: np.dtype(np.uint64)})
_SUPPORTED = "float32, float64, float16, uint8, int32, int8, int64"


def _as_array(value, where):
    if not isinstance(value, np.ndarray):
        raise TypeError(f"save: {where} is a {type(value).__name__}, not a numpy array. "
                        "Convert it with np.asarray (or NDArray.asnumpy()) first.")
    dtype = value.dtype.newbyteorder("=")
    if dtype not in _SAVE_FLAGS:
        raise TypeError(f"save: {where} has dtype {value.dtype}, which MXNet's NDArray file "
                        f"format cannot hold. Supported dtypes: {_SUPPORTED}. "
                        "Cast the array (e.g. .astype(np.float32)) before saving.")
    if value.ndim == 0:
        raise ValueError(f"save: {where} is a 0-d array. MXNet 1.x files use ndim 0 to mean "
                         "'no array', so its value would be lost; reshape it to (1,) first.")
    return value


def _encode_array(arr):
    # Stored data is little-endian and C-ordered whatever the input's layout.
    data = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
    header = struct.pack(f"<IiI{arr.ndim}qiii", _V2_MAGIC, _DENSE, arr.ndim, *arr.shape,
                         _CPU, 0, _SAVE_FLAGS[arr.dtype.newbyteorder("=")])
    return header, data


def save(fname, data):
    """Write one array, a list/tuple of arrays or a dict of name -> array in MXNet's format.

    A single array is stored as a list of one, which is also how MXNet loads
    it back. The file appears whole or not at all (``trainkit.files``): a killed
    process or a full disk never leaves a truncated file under ``fname``.
    """
    from .files import write_bytes
    write_bytes(fname, dumps(data))


def dumps(data):
    """The bytes ``save`` writes for ``data``."""
    if isinstance(data, np.ndarray):
        data = [data]
    if isinstance(data, dict):
        for key in data:
            if not isinstance(key, str):
                raise TypeError(f"save: dict keys must be str, got {type(key).__name__} {key!r}.")
        keys = list(data)
        arrays = [_as_array(v, f"value for key {k!r}") for k, v in data.items()]
    elif isinstance(data, (list, tuple)):
        keys = []
        arrays = [_as_array(v, f"item {i}") for i, v in enumerate(data)]
    else:
        raise TypeError(f"save: data must be a numpy array, a list/tuple of arrays or a dict "
                        f"of str -> array, got {type(data).__name__}.")

    parts = [struct.pack("<QQQ", _LIST_MAGIC, 0, len(arrays))]
    for arr in arrays:
        header, payload = _encode_array(arr)
        parts.append(header)
        parts.append(memoryview(payload.reshape(-1)).cast("B"))
    parts.append(struct.pack("<Q", len(keys)))
    for key in keys:
        raw = key.encode("utf-8")
        parts.append(struct.pack("<Q", len(raw)))
        parts.append(raw)
    return b"".join(parts)


class _Reader:
    """Sequential little-endian reads that fail with a clear message on truncation."""

    def __init__(self, buf, name):
        self.buf, self.pos, self.name = memoryview(buf), 0, name

    def take(self, n, what):
        if self.pos + n > len(self.buf):
            raise ValueError(
                f"{self.name} is truncated or corrupt: needed {n} bytes for {what} at offset "
                f"{self.pos}, but the data ends at {len(self.buf)}. Re-save or re-download it.")
        chunk = self.buf[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt, what):
        fmt = "<" + fmt
        values = struct.unpack(fmt, self.take(struct.calcsize(fmt), what))
        return values if len(values) > 1 else values[0]


def _read_array(r, index):
    what = f"array {index}"
    magic = r.unpack("I", f"the header of {what}")
    if magic == _V3_MAGIC:
        raise ValueError(
            f"{r.name}: {what} was saved by MXNet in numpy-shape mode (magic 0x{magic:08X}), "
            "which trainkit does not read. Save it from MXNet without mx.npx.set_np().")
    if magic == _V2_MAGIC:
        stype = r.unpack("i", f"the storage type of {what}")
        if stype != _DENSE:
            raise ValueError(
                f"{r.name}: {what} is a sparse array (storage type {stype}); trainkit only "
                "reads dense arrays. Convert it with .tostype('default') in MXNet before saving.")
    if magic in (_V1_MAGIC, _V2_MAGIC):
        ndim, dim_fmt = r.unpack("i", f"the ndim of {what}"), "q"
    else:
        # Pre-V1 files have no magic: the word just read is ndim, dims are uint32.
        ndim, dim_fmt = magic, "I"
    if not 0 <= ndim <= 32:
        raise ValueError(f"{r.name}: {what} claims {ndim} dimensions; the file is corrupt "
                         "or not an MXNet NDArray file.")
    if ndim == 0:
        # MXNet writes an empty ("none") NDArray as just its header.
        return np.empty((0,), np.float32)
    shape = r.unpack(f"{ndim}{dim_fmt}", f"the shape of {what}")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if min(shape) < 0:
        raise ValueError(f"{r.name}: {what} has an impossible shape {shape}; the file is corrupt.")
    r.unpack("ii", f"the context of {what}")   # arrays are loaded onto the CPU regardless
    flag = r.unpack("i", f"the dtype flag of {what}")
    if flag not in _LOAD_DTYPES:
        raise ValueError(f"{r.name}: {what} has dtype flag {flag}, which trainkit cannot read "
                         f"(known flags: {sorted(_LOAD_DTYPES)}).")
    dtype = _LOAD_DTYPES[flag]
    count = int(np.prod(shape))
    raw = r.take(count * dtype.itemsize, f"the data of {what} ({shape}, {dtype})")
    # astype copies, so the result is writable and does not pin the file buffer
    return np.frombuffer(raw, dtype.newbyteorder("<"), count).astype(dtype).reshape(shape)


def load_frombuffer(buf, name="buffer"):
    """Parse the bytes of an MXNet NDArray file: a dict if it has names, else a list."""
    r = _Reader(buf, name)
    if len(r.buf) < 8:
        raise ValueError(f"{name} is not an MXNet NDArray file: it has only {len(r.buf)} bytes.")
    magic = r.unpack("Q", "the list magic")
    if magic != _LIST_MAGIC:
        raise ValueError(
            f"{name} is not an MXNet NDArray file: it starts with magic 0x{magic:X}, "
            f"expected 0x{_LIST_MAGIC:X}. Pass a file written by mx.nd.save / trainkit "
            "(e.g. a .params file) or an .npz archive.")
    r.unpack("Q", "the reserved header word")
    count = r.unpack("Q", "the array count")
    arrays = [_read_array(r, i) for i in range(count)]
    nkeys = r.unpack("Q", "the name count")
    if nkeys not in (0, count):
        raise ValueError(f"{name} is corrupt: it holds {count} arrays but {nkeys} names.")
    keys = []
    for i in range(nkeys):
        length = r.unpack("Q", f"the length of name {i}")
        keys.append(bytes(r.take(length, f"name {i}")).decode("utf-8"))
    return dict(zip(keys, arrays)) if keys else arrays


def load(fname):
    """Read an MXNet NDArray file (or an ``.npz``): a dict if it has names, else a list."""
    path = os.fspath(fname)
    try:
        with open(path, "rb") as f:
            buf = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no such file: {path!r}. Check the path (and the epoch "
                                "number in names like 'model-0003.params').") from None
    if buf[:4] == b"PK\x03\x04" or (buf[:4] == b"PK\x05\x06"):   # zip, i.e. np.savez
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    return load_frombuffer(buf, path)
