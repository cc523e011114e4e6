"""mx.io: DataDesc, DataBatch and NDArrayIter's batches for every last-batch mode, shuffling, errors."""
import copy
import pickle

import numpy as np
import pytest

import trainkit as mx
from trainkit.base import MXNetError

X5 = np.arange(10).reshape(5, 2)
Y5 = np.arange(5)


def epoch(it):
    """[(data rows, labels, pad)] of one pass over the iterator."""
    out = []
    for batch in it:
        out.append((batch.data[0].asnumpy().tolist(),
                    batch.label[0].asnumpy().tolist() if batch.label else None, batch.pad))
    return out


# ----- DataDesc / DataBatch ----------------------------------------------------------------------
def test_datadesc_is_a_namedtuple_with_mxnet_repr():
    d = mx.io.DataDesc("data", (1, 3))
    assert d == ("data", (1, 3))
    assert d.name == "data" and d.shape == (1, 3) and d.dtype is np.float32 and d.layout == "NCHW"
    assert repr(d) == "DataDesc[data,(1, 3),<class 'numpy.float32'>,NCHW]"
    name, shape = d
    assert (name, shape) == ("data", (1, 3))
    again = pickle.loads(pickle.dumps(mx.io.DataDesc("x", (2,), np.int32, "NC")))
    assert repr(again) == "DataDesc[x,(2,),<class 'numpy.int32'>,NC]"
    assert repr(copy.deepcopy(d)) == repr(d)


def test_datadesc_helpers():
    assert mx.io.DataDesc.get_batch_axis("TNC") == 1
    assert mx.io.DataDesc.get_batch_axis(None) == 0
    descs = mx.io.DataDesc.get_list([("a", (1, 2)), ("b", (3,))], [("a", np.float64), ("b", np.int32)])
    assert [d.dtype for d in descs] == [np.float64, np.int32]
    assert mx.io.DataDesc.get_list([("a", (1, 2))], None)[0].dtype is np.float32


def test_databatch():
    b = mx.io.DataBatch(data=[mx.nd.ones((2, 3))], label=[mx.nd.zeros((2,))], pad=1)
    assert (b.pad, b.index, b.bucket_key, b.provide_data) == (1, None, None, None)
    assert str(b) == "DataBatch: data shapes: [(2, 3)] label shapes: [(2,)]"
    with pytest.raises(TypeError, match="list of NDArrays"):
        mx.io.DataBatch(data=mx.nd.ones((2, 3)))


# ----- NDArrayIter: last batch modes -------------------------------------------------------------
def test_provide_data_and_label():
    it = mx.io.NDArrayIter(np.zeros((5, 3)), Y5, batch_size=2)
    assert repr(it.provide_data) == "[DataDesc[data,(2, 3),<class 'numpy.float32'>,NCHW]]"
    assert repr(it.provide_label) == "[DataDesc[softmax_label,(2,),<class 'numpy.float32'>,NCHW]]"
    assert it.provide_data == [("data", (2, 3))]
    assert it.num_data == 5 and it.batch_size == 2


def test_pad_wraps_around_to_the_start():
    it = mx.io.NDArrayIter(X5, Y5, batch_size=2)
    assert epoch(it) == [([[0, 1], [2, 3]], [0, 1], 0),
                         ([[4, 5], [6, 7]], [2, 3], 0),
                         ([[8, 9], [0, 1]], [4, 0], 1)]
    assert epoch(it) == []          # exhausted until reset
    it.reset()
    assert len(epoch(it)) == 3


def test_pad_when_batch_exceeds_data():
    it = mx.io.NDArrayIter(np.arange(2), np.arange(2), batch_size=5)
    assert epoch(it) == [([0, 1, 0, 1, 0], [0, 1, 0, 1, 0], 3)]


def test_discard_drops_the_last_partial_batch():
    it = mx.io.NDArrayIter(X5, Y5, batch_size=2, last_batch_handle="discard")
    for _ in range(2):
        assert epoch(it) == [([[0, 1], [2, 3]], [0, 1], 0), ([[4, 5], [6, 7]], [2, 3], 0)]
        it.reset()


def test_roll_over_carries_leftovers_into_the_next_epoch():
    it = mx.io.NDArrayIter(X5, Y5, batch_size=2, last_batch_handle="roll_over")
    assert [b[1] for b in epoch(it)] == [[0, 1], [2, 3]]
    it.reset()
    # MXNet reports the leftover count as pad on the first batch of the next epoch
    assert [(b[1], b[2]) for b in epoch(it)] == [([4, 0], 1), ([1, 2], 0), ([3, 4], 0)]
    it.reset()
    assert [b[1] for b in epoch(it)] == [[0, 1], [2, 3]]
    it.hard_reset()
    assert [b[1] for b in epoch(it)] == [[0, 1], [2, 3]]


def test_exact_multiple_needs_no_padding():
    it = mx.io.NDArrayIter(np.arange(4), batch_size=2)
    assert [b[2] for b in epoch(it)] == [0, 0]


def test_manual_protocol_and_reset_mid_epoch():
    it = mx.io.NDArrayIter(X5, Y5, batch_size=2)
    assert it.iter_next()
    assert it.getdata()[0].asnumpy().tolist() == [[0, 1], [2, 3]]
    assert it.getlabel()[0].asnumpy().tolist() == [0, 1]
    assert (it.getpad(), it.getindex()) == (0, None)
    next(it)
    it.reset()
    assert next(it).label[0].asnumpy().tolist() == [0, 1]


def test_no_label_and_dtypes():
    it = mx.io.NDArrayIter(np.arange(6, dtype=np.int64).reshape(3, 2), batch_size=3)
    assert it.provide_label == []
    batch = next(it)
    assert batch.label == [] and batch.data[0].dtype is np.float32   # numpy input becomes float32
    kept = mx.io.NDArrayIter(mx.nd.array([[1, 2]], dtype=np.int32), batch_size=1)
    assert next(kept).data[0].dtype is np.int32                       # an NDArray keeps its dtype


# ----- several inputs ----------------------------------------------------------------------------
def test_dict_inputs_are_sorted_by_name():
    it = mx.io.NDArrayIter({"b": np.ones((4, 2)), "a": np.zeros((4, 3))},
                           {"lab": np.arange(4)}, batch_size=2)
    assert [d.name for d in it.provide_data] == ["a", "b"]
    assert [d.shape for d in it.provide_data] == [(2, 3), (2, 2)]
    batch = next(it)
    assert [d.shape for d in batch.data] == [(2, 3), (2, 2)]
    assert batch.data[0].asnumpy().sum() == 0 and batch.data[1].asnumpy().sum() == 4
    assert it.provide_label[0].name == "lab"


def test_list_inputs_get_numbered_names():
    it = mx.io.NDArrayIter([np.zeros((3, 1)), np.ones((3, 2))], [np.arange(3), np.arange(3)], batch_size=3)
    assert [d.name for d in it.provide_data] == ["_0_data", "_1_data"]
    assert [d.name for d in it.provide_label] == ["_0_softmax_label", "_1_softmax_label"]
    named = mx.io.NDArrayIter(np.zeros((3, 1)), np.arange(3), data_name="x", label_name="y")
    assert (named.provide_data[0].name, named.provide_label[0].name) == ("x", "y")


def test_layout_with_batch_axis_one():
    x = np.arange(12).reshape(2, 3, 2)     # T=2, N=3, C=2
    it = mx.io.NDArrayIter(x, batch_size=2, layout="TNC")
    assert it.num_data == 3
    assert it.provide_data[0].shape == (2, 2, 2) and it.provide_data[0].layout == "TNC"
    first, second = next(it), next(it)
    np.testing.assert_array_equal(first.data[0].asnumpy(), x[:, 0:2])
    np.testing.assert_array_equal(second.data[0].asnumpy(), np.concatenate([x[:, 2:3], x[:, 0:1]], axis=1))
    assert second.pad == 1


# ----- shuffling ---------------------------------------------------------------------------------
def shuffled_labels(seed, epochs=2):
    np.random.seed(seed)                             # MXNet shuffles with numpy's global generator
    it = mx.io.NDArrayIter(np.arange(20).reshape(10, 2), np.arange(10), batch_size=5, shuffle=True)
    out = []
    for _ in range(epochs):
        out.append(sum((b[1] for b in epoch(it)), []))
        it.reset()
    return out, it


def test_shuffle_is_reproducible_after_seed_and_keeps_pairs():
    first, it = shuffled_labels(3)
    again, _ = shuffled_labels(3)
    other, _ = shuffled_labels(4)
    assert first == again
    assert first != other
    for order in first:
        assert sorted(order) == list(range(10)) and order != list(range(10))
    assert first[0] != first[1]                      # a new order each epoch
    for k, v in it.data:                              # rows still match their labels
        lab = dict(it.label)["softmax_label"].asnumpy()
        np.testing.assert_array_equal(v.asnumpy()[:, 0], 2 * lab)
    np.testing.assert_array_equal(np.sort(it.idx), np.arange(10))


def test_shuffle_reproduces_mxnets_batches_for_a_numpy_seed():
    # real MXNet 1.9.1: np.random.seed(3); NDArrayIter(arange(10), batch_size=3, shuffle=True), 3 epochs
    expected = {"pad": [[5, 4, 1], [2, 9, 6], [7, 0, 3], [8, 5, 4]], "roll_over": [[8, 1, 2], [4, 9, 3], [8, 6, 0]]}
    for mode, want in expected.items():
        np.random.seed(3)
        it = mx.io.NDArrayIter(np.arange(10, dtype=np.float32).reshape(10, 1), batch_size=3, shuffle=True,
                               last_batch_handle=mode)
        epochs = []
        for _ in range(3):
            epochs.append([b.data[0].asnumpy().ravel().astype(int).tolist() for b in it])
            it.reset()
        assert epochs[0 if mode == "pad" else 1] == want
        assert np.random.randint(1000) == 545           # numpy's stream moved on exactly as in MXNet


def test_shuffle_source_draws_fresh_orders_of_the_original_samples():
    it = mx.io.NDArrayIter(np.arange(6, dtype=np.float32), batch_size=6, shuffle=True)
    orders = iter([np.array([5, 4, 3, 2, 1, 0]), np.array([1, 0, 2, 3, 4, 5])])
    with mx.io.shuffle_source(lambda n: next(orders)):
        it.reset()
        assert next(iter(it)).data[0].asnumpy().tolist() == [5, 4, 3, 2, 1, 0]
        it.reset()                                       # not composed with the previous order
        assert next(iter(it)).data[0].asnumpy().tolist() == [1, 0, 2, 3, 4, 5]


def test_shuffle_does_not_touch_the_caller_arrays():
    x = mx.nd.array(np.arange(6).reshape(3, 2))
    mx.io.NDArrayIter(x, batch_size=1, shuffle=True)
    assert x.asnumpy().tolist() == [[0, 1], [2, 3], [4, 5]]


# ----- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(data=X5, label=np.arange(4)), ValueError, r"same number of samples.*data: 5.*softmax_label: 4"),
    (dict(data=X5, batch_size=6, last_batch_handle="discard"), ValueError, "larger than the 5 samples"),
    (dict(data=X5, last_batch_handle="drop"), ValueError, "pad, discard, roll_over"),
    (dict(data=X5, batch_size=0), ValueError, "positive int"),
    (dict(data=None), ValueError, "needs data"),
    (dict(data="abc"), TypeError, "Input must be NDArray"),
    (dict(data=X5, layout="CHW"), ValueError, "batch axis"),
    (dict(data=np.zeros((0, 2))), ValueError, "0 samples"),
])
def test_construction_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        mx.io.NDArrayIter(**kwargs)


def test_getdata_after_the_end_asks_for_reset():
    it = mx.io.NDArrayIter(X5, batch_size=5)
    next(it)
    assert not it.iter_next()
    with pytest.raises(MXNetError, match="needs reset"):
        it.getdata()


def test_custom_dataiter_subclass():
    class Counter(mx.io.DataIter):
        def __init__(self):
            super().__init__(batch_size=1)
            self.i = 0

        def iter_next(self):
            self.i += 1
            return self.i <= 2

        def getdata(self):
            return [mx.nd.array([self.i])]

        def getlabel(self):
            return None

        def getpad(self):
            return 0

    batches = list(Counter())
    assert [b.data[0].asnumpy().tolist() for b in batches] == [[1.0], [2.0]]
    assert batches[0].label is None and batches[0].index is None


# ----- CSVIter, MNISTIter, ResizeIter, PrefetchingIter (batches as MXNet 1.9.1 serves them) -------------
def _csv(tmp_path):
    (tmp_path / "d.csv").write_text("1,2,3\n4,5,6\n7,8,9\n10,11,12\n13,14,15\n")
    (tmp_path / "l.csv").write_text("0\n1\n2\n3\n4\n")
    return str(tmp_path / "d.csv"), str(tmp_path / "l.csv")


def test_csviter_round_batch_wraps_and_the_next_epoch_continues(tmp_path):
    data, label = _csv(tmp_path)
    it = mx.io.CSVIter(data_csv=data, data_shape=(3,), label_csv=label, batch_size=2)
    assert repr(it.provide_data) == "[DataDesc[data,(2, 3),<class 'numpy.float32'>,NCHW]]"
    assert it.provide_label[0].shape == (2,)
    epochs = []
    for _ in range(3):
        epochs.append([(b.data[0].asnumpy()[:, 0].tolist(), b.label[0].asnumpy().tolist(), b.pad) for b in it])
        it.reset()
    assert epochs[0] == [([1, 4], [0, 1], 0), ([7, 10], [2, 3], 0), ([13, 1], [4, 0], 1)]
    assert epochs[1] == [([4, 7], [1, 2], 0), ([10, 13], [3, 4], 0)]
    assert epochs[2] == epochs[0]


def test_csviter_without_round_batch_repeats_the_previous_tail(tmp_path):
    data, label = _csv(tmp_path)
    it = mx.io.CSVIter(data_csv=data, data_shape=(3,), label_csv=label, batch_size=2, round_batch=False)
    last = list(it)[-1]
    assert last.data[0].asnumpy()[:, 0].tolist() == [13, 10] and last.pad == 1 and list(last.index) == [4, 3]
    no_label = mx.io.CSVIter(data_csv=data, data_shape=(3,), batch_size=2, dtype="int32")
    batch = next(iter(no_label))
    assert batch.label[0].asnumpy().tolist() == [0, 0] and batch.data[0].dtype == np.int32
    with pytest.raises(ValueError, match=r"has 3 values but data_shape \(2, 2\) needs 4"):
        mx.io.CSVIter(data_csv=data, data_shape=(2, 2), batch_size=2)


def _idx_files(tmp_path, n=5, gz=False):
    import gzip
    import struct
    img = (np.arange(n * 28 * 28) % 256).astype(np.uint8).reshape(n, 28, 28)
    opener = gzip.open if gz else open
    with opener(tmp_path / "img", "wb") as f:
        f.write(struct.pack(">IIII", 2051, n, 28, 28) + img.tobytes())
    with opener(tmp_path / "lab", "wb") as f:
        f.write(struct.pack(">II", 2049, n) + np.arange(n, dtype=np.uint8).tobytes())
    return str(tmp_path / "img"), str(tmp_path / "lab"), img


@pytest.mark.parametrize("gz", [False, True])
def test_mnistiter_reads_idx_files(tmp_path, gz, capsys):
    image, label, img = _idx_files(tmp_path, gz=gz)
    it = mx.io.MNISTIter(image=image, label=label, batch_size=2, shuffle=False)
    assert "MNISTIter: load 5 images, shuffle=0, shape=[2,1,28,28]" in capsys.readouterr().err
    batches = list(it)
    assert len(batches) == 2                                   # the incomplete last batch is dropped
    assert batches[0].data[0].shape == (2, 1, 28, 28)
    np.testing.assert_array_equal(batches[1].data[0].asnumpy()[1, 0], img[3] / np.float32(256))
    assert batches[1].label[0].asnumpy().tolist() == [2, 3]
    flat = mx.io.MNISTIter(image=image, label=label, batch_size=2, flat=True, shuffle=True, seed=1, silent=True)
    first = [b.label[0].asnumpy().tolist() for b in flat]
    flat.reset()
    assert [b.label[0].asnumpy().tolist() for b in flat] == first and flat.provide_data[0].shape == (2, 784)


def test_resize_and_prefetching_iters():
    inner = mx.io.NDArrayIter(mx.nd.arange(10).reshape(5, 2), batch_size=2)
    r = mx.io.ResizeIter(inner, 4)
    got = [(b.data[0].asnumpy()[:, 0].tolist(), b.pad) for b in r]
    assert got == [([0, 2], 0), ([4, 6], 0), ([8, 0], 1), ([0, 2], 0)]
    p = mx.io.PrefetchingIter([mx.io.NDArrayIter(mx.nd.ones((4, 2)), batch_size=2),
                               mx.io.NDArrayIter(mx.nd.zeros((4, 3)), batch_size=2)],
                              rename_data=[{"data": "a"}, {"data": "b"}])
    assert [d.name for d in p.provide_data] == ["a", "b"]
    batches = list(p)
    assert len(batches) == 2 and [d.shape for d in batches[0].data] == [(2, 2), (2, 3)]
