"""trainkit.serialization against files written by real MXNet 1.9.1 (tests/data)."""
import json
import os
import struct

import numpy as np
import pytest

from trainkit import serialization as ser

DATA = os.path.join(os.path.dirname(__file__), "data")
MX_FILES = ["dict.params", "list.nd", "dtypes.nd", "single.nd"]
ALL_DTYPES = [np.float32, np.float64, np.float16, np.uint8, np.int32, np.int8, np.int64]

with open(os.path.join(DATA, "nd_files_expected.json")) as f:
    EXPECTED = json.load(f)


def _check(arr, spec):
    assert arr.dtype == np.dtype(spec["dtype"])
    assert arr.shape == tuple(spec["shape"])
    np.testing.assert_array_equal(arr.ravel().astype(np.float64), spec["values"])


@pytest.mark.parametrize("name", MX_FILES)
def test_mxnet_fixture_loads_as_mxnet_does(name):
    loaded = ser.load(os.path.join(DATA, name))
    expected = EXPECTED[name]
    if isinstance(expected, dict):
        assert isinstance(loaded, dict)
        assert list(loaded) == list(expected)          # names and their order
        for key, spec in expected.items():
            _check(loaded[key], spec)
    else:
        assert isinstance(loaded, list) and len(loaded) == len(expected)
        for arr, spec in zip(loaded, expected):
            _check(arr, spec)


@pytest.mark.parametrize("name", MX_FILES)
def test_resave_is_byte_identical_to_mxnet(name, tmp_path):
    # MXNet writes every array with context cpu(0) in these files, as we do, so
    # nothing (not even the context field) differs.
    src = os.path.join(DATA, name)
    out = tmp_path / name
    ser.save(out, ser.load(src))
    with open(src, "rb") as a:
        assert out.read_bytes() == a.read()


def test_single_array_is_a_list_of_one(tmp_path):
    a = np.arange(4, dtype=np.float32).reshape(2, 2) + 1
    ser.save(tmp_path / "one.nd", a)
    loaded = ser.load(tmp_path / "one.nd")
    assert isinstance(loaded, list) and len(loaded) == 1
    np.testing.assert_array_equal(loaded[0], a)
    with open(os.path.join(DATA, "single.nd"), "rb") as f:
        assert (tmp_path / "one.nd").read_bytes() == f.read()


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_round_trip_every_dtype(dtype, tmp_path):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((3, 4, 2)) * 50).astype(dtype)
    ser.save(tmp_path / "x.nd", {"a": a, "b": a[:1, :, 0]})
    back = ser.load(tmp_path / "x.nd")
    for key, want in {"a": a, "b": a[:1, :, 0]}.items():
        assert back[key].dtype == want.dtype and back[key].shape == want.shape
        np.testing.assert_array_equal(back[key], want)
        assert back[key].flags.writeable


def test_round_trip_list_tuple_and_odd_layouts(tmp_path):
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3).T,        # not C-contiguous
              np.array([1.5, -2.0], dtype=">f8"),                      # big-endian input
              np.zeros((0, 3), np.int32)]                              # empty
    for container in (list, tuple):
        ser.save(tmp_path / "l.nd", container(arrays))
        back = ser.load(tmp_path / "l.nd")
        assert isinstance(back, list) and len(back) == 3
        for got, want in zip(back, arrays):
            assert got.shape == want.shape
            assert got.dtype == want.dtype.newbyteorder("=")
            np.testing.assert_array_equal(got, want)


def test_unicode_keys_and_empty_containers(tmp_path):
    ser.save(tmp_path / "u.params", {"arg:poids_é": np.ones(2, np.float32)})
    assert list(ser.load(tmp_path / "u.params")) == ["arg:poids_é"]
    # An empty dict has no names to mark it as a dict; MXNet loads it as [] too.
    ser.save(tmp_path / "e.params", {})
    assert ser.load(tmp_path / "e.params") == []


def test_loads_npz(tmp_path):
    np.savez(tmp_path / "p.npz", w=np.ones((2, 2), np.float32), b=np.arange(3))
    loaded = ser.load(tmp_path / "p.npz")
    assert list(loaded) == ["w", "b"]
    np.testing.assert_array_equal(loaded["b"], np.arange(3))


def test_load_frombuffer_matches_load():
    path = os.path.join(DATA, "dict.params")
    with open(path, "rb") as f:
        from_buf = ser.load_frombuffer(f.read())
    from_file = ser.load(path)
    assert list(from_buf) == list(from_file)
    for k in from_file:
        np.testing.assert_array_equal(from_buf[k], from_file[k])


def _legacy_array(magic, with_stype, dims, dim_fmt, payload):
    head = struct.pack("<I", magic)
    if with_stype:
        head += struct.pack("<i", 0)
    if dim_fmt == "q":
        head += struct.pack(f"<i{len(dims)}q", len(dims), *dims)
    else:  # pre-V1: the magic word itself was ndim
        head += struct.pack(f"<{len(dims)}I", *dims)
    return head + struct.pack("<iii", 1, 0, 0) + payload.astype("<f4").tobytes()


def test_reads_v1_and_pre_magic_arrays():
    a = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
    body = (_legacy_array(0xF993FAC8, False, a.shape, "q", a)
            + _legacy_array(a.ndim, False, a.shape, "I", a))
    buf = struct.pack("<QQQ", 0x112, 0, 2) + body + struct.pack("<Q", 0)
    for arr in ser.load_frombuffer(buf):
        np.testing.assert_array_equal(arr, a)


def test_unsupported_dtype_is_a_type_error(tmp_path):
    for bad in (np.array([True]), np.array([1], np.uint16)):
        with pytest.raises(TypeError, match=r"dtype .*Supported dtypes: float32.*int64"):
            ser.save(tmp_path / "bad.nd", [bad])


def test_save_rejects_bad_inputs(tmp_path):
    with pytest.raises(TypeError, match="not a numpy array"):
        ser.save(tmp_path / "x.nd", [[1.0, 2.0]])
    with pytest.raises(TypeError, match="keys must be str"):
        ser.save(tmp_path / "x.nd", {1: np.ones(1, np.float32)})
    with pytest.raises(ValueError, match="0-d array"):
        ser.save(tmp_path / "x.nd", [np.array(3.0, np.float32)])


def test_missing_file(tmp_path):
    missing = tmp_path / "nope-0003.params"
    with pytest.raises(FileNotFoundError, match="nope-0003.params"):
        ser.load(missing)


def test_not_an_mxnet_file(tmp_path):
    path = tmp_path / "junk.params"
    path.write_bytes(b"hello world, definitely not ndarrays")
    with pytest.raises(ValueError, match=r"not an MXNet NDArray file.*magic 0x"):
        ser.load(path)
    path.write_bytes(b"abc")
    with pytest.raises(ValueError, match="not an MXNet NDArray file"):
        ser.load(path)


@pytest.mark.parametrize("cut", [12, 30, 60, 100, 200, 275])
def test_truncated_file(cut, tmp_path):
    with open(os.path.join(DATA, "dict.params"), "rb") as f:
        full = f.read()
    path = tmp_path / "cut.params"
    path.write_bytes(full[:cut])
    with pytest.raises(ValueError, match="truncated"):
        ser.load(path)


def test_sparse_arrays_are_refused():
    buf = struct.pack("<QQQIi", 0x112, 0, 1, 0xF993FAC9, 1)
    with pytest.raises(ValueError, match="sparse"):
        ser.load_frombuffer(buf)
