"""SGD's chunk update on shared buffers (trainkit.optimizer.flat): the per-array values, bit for bit, and
never at the cost of someone else's view of a weight."""
import pickle

import numpy as np
import pytest

import trainkit as mx
from trainkit.optimizer import flat

SHAPES = [(12, 5), (12,), (3, 12), (3,)]


def _arrays(seed, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return [mx.nd.array(rng.normal(size=s).astype(np.float32)) for s in shapes]


def _train(per_array, steps=3, shapes=SHAPES, **params):
    """Weights after ``steps`` updates through one Updater: as one chunk, or one index per call."""
    opt = mx.optimizer.create("sgd", learning_rate=0.1, **params)
    updater = mx.optimizer.get_updater(opt)
    weights = _arrays(0, shapes)
    indices = list(range(len(weights)))
    for step in range(steps):
        grads = _arrays(step + 1, shapes)
        if per_array:
            for i, g, w in zip(indices, grads, weights):
                updater(i, g, w)
        else:
            updater(indices, grads, weights)
    return opt, updater, weights


@pytest.mark.parametrize("params", [{}, {"momentum": 0.9}, {"momentum": 0.9, "wd": 0.01},
                                    {"momentum": 0.5, "clip_gradient": 0.3, "rescale_grad": 0.5}])
def test_chunk_update_is_the_per_array_update_bit_for_bit(params):
    opt, _, chunked = _train(False, **params)
    _, _, single = _train(True, **params)
    assert all(np.array_equal(a.asnumpy(), b.asnumpy()) for a, b in zip(chunked, single))
    buffers = {w._data.base is not None and id(w._data.base) for w in chunked}
    assert len(buffers) == 1 and False not in buffers, "the chunk's weights do not share one buffer"


def test_a_weight_someone_else_views_is_never_moved():
    opt = mx.optimizer.create("sgd", learning_rate=0.1, momentum=0.9)
    updater = mx.optimizer.get_updater(opt)
    weights = _arrays(0)
    outside = weights[2]._data[:]  # a view a user (or another array) holds
    before = outside.copy()
    updater(list(range(4)), _arrays(1), weights)
    updater(list(range(4)), _arrays(2), weights)
    assert np.shares_memory(outside, weights[2]._data)
    assert not np.array_equal(outside, before)  # the view follows the updates
    assert all(w._data.base is None for w in weights)  # the chunk stayed per array


def test_replaced_states_make_the_group_again_and_pickles_leave_it_out():
    opt, updater, weights = _train(False, momentum=0.9)
    restored_opt, restored, copies = _train(False, momentum=0.9)
    restored.set_states(updater.get_states(dump_optimizer=False))  # new momentum arrays
    grads = _arrays(7)
    updater(list(range(4)), grads, weights)
    restored(list(range(4)), grads, copies)
    assert all(np.array_equal(a.asnumpy(), b.asnumpy()) for a, b in zip(weights, copies))
    assert all(restored.states[i]._data.base is not None for i in range(4))  # moved again
    clone = pickle.loads(pickle.dumps(opt))
    assert clone._flat_groups == {} and "_flat_groups" not in opt.__getstate__()


def test_large_chunks_stay_per_array():
    big = [(flat.SMALL // 8 + 1, 8), (8,)]
    _, _, weights = _train(False, shapes=big, momentum=0.9)
    _, _, single = _train(True, shapes=big, momentum=0.9)
    assert all(w._data.base is None for w in weights)
    assert all(np.array_equal(a.asnumpy(), b.asnumpy()) for a, b in zip(weights, single))


def test_a_chunk_in_use_still_checks_every_pair():
    """The chunk's one-pass check stands in for the per-pair checks: a bad pair after the chunk exists
    still gets their errors, and changes nothing."""
    opt, updater, weights = _train(False, momentum=0.9)
    before = [w.asnumpy() for w in weights]
    grads = _arrays(5)
    grads[2] = mx.nd.zeros((12, 3))
    with pytest.raises(mx.base.MXNetError, match=r"has shape \(12, 3\) but the weight has shape \(3, 12\)"):
        opt.update_multi_precision(list(range(4)), weights, grads, [updater.states[i] for i in range(4)])
    grads[2] = np.zeros((3, 12), np.float32)
    with pytest.raises(TypeError, match="expects NDArrays for weight and grad, got ndarray"):
        opt.update_multi_precision(list(range(4)), weights, grads, [updater.states[i] for i in range(4)])
    for w in weights:
        w.attach_grad()  # the same arrays, now variables: updating them while recording is refused
    with pytest.raises(mx.base.MXNetError, match="already in a computational graph"):
        with mx.autograd.record():
            opt.update_multi_precision(list(range(4)), weights, _arrays(6), [updater.states[i] for i in range(4)])
    assert all(np.array_equal(w.asnumpy(), b) for w, b in zip(weights, before))
