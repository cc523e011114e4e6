"""gluon.data: datasets, samplers, DataLoader edge cases, MNIST from local files, transforms."""
import gzip
import struct

import numpy as np
import pytest

import trainkit as mx
from trainkit.gluon import data as gdata
from trainkit.gluon.data.vision import transforms


def _loader_batches(loader):
    return [b.asnumpy().tolist() for b in loader]


def test_array_dataset_and_simple_dataset():
    x, y = np.arange(10).reshape(5, 2), mx.nd.arange(5)
    ds = gdata.ArrayDataset(x, y)
    assert len(ds) == 5
    a, b = ds[2]
    assert a.tolist() == [4, 5] and b == 2.0
    with pytest.raises(AssertionError, match="same length"):
        gdata.ArrayDataset(x, np.arange(4))
    simple = gdata.SimpleDataset(list(range(7)))
    odd = simple.filter(lambda v: v % 2)
    assert [odd[i] for i in range(len(odd))] == [1, 3, 5]
    assert [len(simple.shard(3, i)) for i in range(3)] == [3, 2, 2]
    assert simple.shard(3, 1)[0] == 3
    assert len(simple.take(4)) == 4 and len(simple.take(None)) == 7
    doubled = simple.transform(lambda v: v * 2)
    assert doubled[3] == 6
    pairs = gdata.ArrayDataset(np.arange(3), np.arange(3) + 10).transform_first(lambda v: v + 100)
    assert pairs[1] == (101, 11)


@pytest.mark.parametrize("last_batch,want", [
    ("keep", [[0, 1, 2], [3, 4, 5], [6]]),
    ("discard", [[0, 1, 2], [3, 4, 5]]),
    ("rollover", [[0, 1, 2], [3, 4, 5]]),
])
def test_last_batch_modes(last_batch, want):
    loader = gdata.DataLoader(gdata.SimpleDataset(list(range(7))), batch_size=3, last_batch=last_batch)
    assert _loader_batches(loader) == want
    assert len(loader) == len(want)


def test_rollover_carries_the_rest_into_the_next_epoch():
    sampler = gdata.BatchSampler(gdata.SequentialSampler(7), 3, "rollover")
    assert list(sampler) == [[0, 1, 2], [3, 4, 5]]
    assert len(sampler) == 2   # 1 carried + 7 new -> 2 full batches
    assert list(sampler) == [[6, 0, 1], [2, 3, 4]]
    with pytest.raises(ValueError, match="last_batch must be one of"):
        gdata.BatchSampler(gdata.SequentialSampler(3), 2, "pad")


def test_shuffle_uses_numpy_and_covers_every_sample():
    np.random.seed(0)
    loader = gdata.DataLoader(gdata.SimpleDataset(list(range(10))), batch_size=4, shuffle=True, num_workers=2)
    flat = sum(_loader_batches(loader), [])
    assert sorted(flat) == list(range(10)) and flat != list(range(10))
    np.random.seed(0)
    assert sum(_loader_batches(loader), []) == flat


def test_loader_argument_errors():
    ds = gdata.SimpleDataset([1, 2, 3])
    with pytest.raises(ValueError, match="batch_size must be specified"):
        gdata.DataLoader(ds)
    with pytest.raises(ValueError, match="shuffle must not be specified if sampler is specified"):
        gdata.DataLoader(ds, 2, shuffle=True, sampler=gdata.SequentialSampler(3))
    with pytest.raises(ValueError, match="must not be specified if batch_sampler is specified"):
        gdata.DataLoader(ds, 2, batch_sampler=gdata.BatchSampler(gdata.SequentialSampler(3), 2))


def test_batch_sampler_sampler_and_batchify():
    ds = gdata.ArrayDataset(np.arange(6, dtype=np.float32).reshape(6, 1), np.arange(6))
    loader = gdata.DataLoader(ds, batch_sampler=gdata.BatchSampler(gdata.IntervalSampler(6, 2), 3))
    batches = list(loader)
    assert [b[1].asnumpy().tolist() for b in batches] == [[0, 2, 4], [1, 3, 5]]
    assert batches[0][0].shape == (3, 1) and batches[0][1].dtype == np.arange(1).dtype
    custom = gdata.DataLoader(ds, 4, batchify_fn=lambda samples: len(samples))
    assert list(custom) == [4, 2]
    nd_ds = gdata.SimpleDataset([mx.nd.ones((2,)) * i for i in range(3)])
    assert next(iter(gdata.DataLoader(nd_ds, 3))).shape == (3, 2)
    filtered = gdata.FilterSampler(lambda s: s[1] % 3 == 0, ds)
    assert list(filtered) == [0, 3] and len(filtered) == 2
    assert list(gdata.IntervalSampler(5, 2, rollover=False)) == [0, 2, 4]


def _write_idx(path, array):
    magic = 0x0800 | array.ndim
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + struct.pack(">" + "I" * array.ndim, *array.shape) + array.tobytes())


def test_mnist_reads_local_files_and_transforms(tmp_path):
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, (5, 28, 28)).astype(np.uint8)
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    ds = gdata.vision.MNIST(root=str(tmp_path), train=False)
    assert len(ds) == 5
    img, label = ds[2]
    assert img.shape == (28, 28, 1) and img.dtype == np.uint8 and label == 4
    np.testing.assert_array_equal(img.asnumpy()[:, :, 0], images[2])
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(0.5, 0.25)])
    loader = gdata.DataLoader(ds.transform_first(tf), batch_size=2, last_batch="discard")
    x, y = next(iter(loader))
    assert x.shape == (2, 1, 28, 28) and x.dtype == np.float32
    np.testing.assert_allclose(x.asnumpy()[1, 0], (images[1] / 255.0 - 0.5) / 0.25, rtol=1e-5, atol=1e-5)
    assert y.asnumpy().tolist() == [3, 1]


def test_missing_mnist_files_say_where_to_put_them(tmp_path):
    with pytest.raises(RuntimeError, match="does not download.*train-images-idx3-ubyte.gz"):
        gdata.vision.FashionMNIST(root=str(tmp_path / "nowhere"))


def test_to_tensor_and_normalize_per_channel():
    img = mx.nd.array(np.arange(12).reshape(2, 2, 3), dtype=np.uint8)
    t = transforms.ToTensor()(img)
    assert t.shape == (3, 2, 2)
    np.testing.assert_allclose(t.asnumpy(), np.arange(12).reshape(2, 2, 3).transpose(2, 0, 1) / 255.0, rtol=1e-6)
    n = transforms.Normalize(mean=(0.0, 0.1, 0.2), std=(1.0, 2.0, 4.0))(t)
    np.testing.assert_allclose(n.asnumpy()[2], (t.asnumpy()[2] - 0.2) / 4.0, rtol=1e-6)


def test_pin_memory_puts_batches_on_cpu_pinned():
    ds = gdata.ArrayDataset(np.ones((5, 2)), np.arange(5))
    x, y = next(iter(gdata.DataLoader(ds, 2, pin_memory=True, pin_device_id=0, num_workers=3, thread_pool=True)))
    assert x.context == mx.cpu_pinned(0) and y.context == mx.cpu_pinned(0)
    assert next(iter(gdata.DataLoader(ds, 2)))[0].context == mx.cpu(0)
