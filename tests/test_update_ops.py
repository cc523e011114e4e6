"""The fused optimizer update operators (sgd_update, adam_update, ...) against MXNet 1.9.1 and their formulas.

``tests/data/mxnet_update_ops.npz`` holds what real MXNet 1.9.1 computed for the
scenario below (run with ``import mxnet as mx`` in place of trainkit): every output
and every state array after one step, for every operator.
"""
import os

import numpy as np
import pytest

import trainkit as mx
from trainkit.base import MXNetError

FIXTURE = os.path.join(os.path.dirname(__file__), "data", "mxnet_update_ops.npz")


def _scenario(nd):
    """One step of every update operator on seeded inputs; returns name -> array (outputs and states)."""
    rng = np.random.RandomState(0)
    S = (3, 4)
    def A(pos=False): 
        a = rng.randn(*S).astype(np.float32)
        return nd.array(np.abs(a) if pos else a)
    res = {}
    def run(name, fn, nstates, pos_states=(), mp=False, **kw):
        w = A(); g = A(); st = [A(i in pos_states) for i in range(nstates)]
        if mp:
            w = w.astype('float16'); g = g.astype('float16'); st[-1] = w.astype('float32')
        out = fn(w, g, *st, **kw)
        outs = out if isinstance(out, (list, tuple)) else [out]
        for i, o in enumerate(outs): res[f"{name}_out{i}"] = o.asnumpy()
        for i, s in enumerate(st): res[f"{name}_st{i}"] = s.asnumpy()
    common = dict(wd=0.01, rescale_grad=0.5, clip_gradient=0.4)
    run("sgd", nd.sgd_update, 0, lr=0.1, **common)
    run("sgd_noclip", nd.sgd_update, 0, lr=0.1, wd=0.01, rescale_grad=0.5)
    run("sgdmom", nd.sgd_mom_update, 1, lr=0.1, momentum=0.9, **common)
    run("mpsgd", nd.mp_sgd_update, 1, mp=True, lr=0.1, **common)
    run("mpsgdmom", nd.mp_sgd_mom_update, 2, mp=True, lr=0.1, momentum=0.9, **common)
    run("nag", nd.nag_mom_update, 1, lr=0.1, momentum=0.9, **common)
    run("mpnag", nd.mp_nag_mom_update, 2, mp=True, lr=0.1, momentum=0.9, **common)
    run("adam", nd.adam_update, 2, pos_states=(1,), lr=0.1, **common)
    run("rmsprop", nd.rmsprop_update, 1, pos_states=(0,), lr=0.1, clip_weights=0.5, **common)
    w=A(); g=A(); n=nd.array(np.abs(rng.randn(*S))+2); gg=nd.array(A().asnumpy()*0.1); d=A()
    res["alex"] = nd.rmspropalex_update(w, g, n, gg, d, lr=0.1, **common).asnumpy(); res["alex_n"]=n.asnumpy(); res["alex_g"]=gg.asnumpy(); res["alex_d"]=d.asnumpy()
    run("ftrl", nd.ftrl_update, 2, pos_states=(1,), lr=0.1, lamda1=0.1, beta=1.0, **common)
    w=A(); g=A(); dd=A(); v=nd.array(np.abs(rng.randn(*S))); z=A()
    res["ftml"] = nd.ftml_update(w, g, dd, v, z, lr=0.1, t=3, wd=0.01, rescale_grad=0.5, clip_grad=0.4).asnumpy(); res["ftml_d"]=dd.asnumpy(); res["ftml_v"]=v.asnumpy(); res["ftml_z"]=z.asnumpy()
    run("signsgd", nd.signsgd_update, 0, lr=0.1, **common)
    run("signum", nd.signum_update, 1, lr=0.1, momentum=0.9, wd_lh=0.02, **common)
    run("lamb1", nd.lamb_update_phase1, 2, pos_states=(1,), t=2, **common)
    run("lamb1nb", nd.lamb_update_phase1, 2, pos_states=(1,), t=2, bias_correction=False, wd=0.01)
    w=A(); g=A(); r1=nd.array([2.0]); r2=nd.array([4.0])
    res["lamb2"] = nd.lamb_update_phase2(w, g, r1, r2, lr=0.1, lower_bound=0.5, upper_bound=1.5).asnumpy()
    w=A().astype('float16'); g=A(); w32=w.astype('float32')
    res["mplamb2"] = nd.mp_lamb_update_phase2(w, g, r1, r2, w32, lr=0.1).asnumpy(); res["mplamb2_w32"]=w32.asnumpy()
    w=A().astype('float16'); g=A().astype('float16'); m=A(); v=nd.array(np.abs(rng.randn(*S))); w32=w.astype('float32')
    res["mplamb1"] = nd.mp_lamb_update_phase1(w, g, m, v, w32, t=2, **common).asnumpy()
    ws=[A(),A()]; gs=[A(),A()]; ms=[A(),A()]
    o = nd.multi_sgd_mom_update(ws[0],gs[0],ms[0],ws[1],gs[1],ms[1], lrs=(0.1,0.2), wds=(0.01,0.0), momentum=0.9, rescale_grad=0.5, clip_gradient=0.4, num_weights=2, out=[ws[0].copy(), ws[1].copy()])
    res["multimom0"]=o[0].asnumpy(); res["multimom1"]=o[1].asnumpy(); res["multimom_m1"]=ms[1].asnumpy()
    o = nd.multi_sgd_update(ws[0],gs[0],ws[1],gs[1], lrs=(0.1,0.2), wds=(0.01,0.0), num_weights=2, out=[ws[0].copy(), ws[1].copy()])
    res["multi1"]=o[1].asnumpy()
    w32s=[nd.array(ws[0].asnumpy()), nd.array(ws[1].asnumpy())]
    h=[x.astype('float16') for x in ws+gs]
    o = nd.multi_mp_sgd_mom_update(h[0],h[2],ms[0],w32s[0],h[1],h[3],ms[1],w32s[1], lrs=(0.1,0.2), wds=(0.01,0.0), momentum=0.9, num_weights=2, out=[h[0].copy(), h[1].copy()])
    res["multimp1"]=o[1].asnumpy(); res["multimp_w32"]=w32s[1].asnumpy()
    o = nd.preloaded_multi_sgd_mom_update(ws[0],gs[0],ms[0],ws[1],gs[1],ms[1], nd.array([0.1,0.2]), nd.array([0.01,0.0]), momentum=0.9, num_weights=2, out=[ws[0].copy(), ws[1].copy()])
    res["pre1"]=o[1].asnumpy()
    o = nd.preloaded_multi_mp_sgd_update(h[0],h[2],w32s[0],h[1],h[3],w32s[1], nd.array([0.1,0.2]), nd.array([0.01,0.0]), num_weights=2, out=[h[0].copy(), h[1].copy()])
    res["premp1"]=o[1].asnumpy()
    w=A(); g=A(); before=w.asnumpy()
    nd.sgd_update(w, g, lr=0.1, out=w); res["inplace"]=w.asnumpy()
    w=A(); g=A(); before=w.asnumpy(); r=nd.sgd_update(w, g, lr=0.1); res["notinplace"]=w.asnumpy()
    return res


def test_every_update_op_matches_mxnet():
    want = np.load(FIXTURE)
    got = _scenario(mx.nd)
    assert sorted(got) == sorted(want.files)
    for key in want.files:
        assert got[key].dtype == want[key].dtype, key
        np.testing.assert_allclose(got[key].astype(np.float64), want[key], rtol=1e-6, atol=1e-6, err_msg=key)


def _arrays(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def test_sgd_mom_update_formula_and_in_place_state():
    w, g, mom = _arrays(1, (5,), (5,), (5,))
    weight, m = mx.nd.array(w), mx.nd.array(mom)
    out = mx.nd.sgd_mom_update(weight, mx.nd.array(g), m, lr=0.05, momentum=0.8, wd=0.1, rescale_grad=2.0,
                               clip_gradient=1.0, out=weight)
    want_mom = 0.8 * mom - 0.05 * 0.1 * w - 0.05 * np.clip(2.0 * g, -1.0, 1.0)
    assert out is weight
    np.testing.assert_allclose(m.asnumpy(), want_mom, rtol=1e-6)
    np.testing.assert_allclose(weight.asnumpy(), w + want_mom, rtol=1e-6)


def test_adam_update_formula():
    w, g, mean = _arrays(2, (2, 3), (2, 3), (2, 3))
    var = np.abs(_arrays(3, (2, 3))[0])
    states = [mx.nd.array(mean), mx.nd.array(var)]
    new = mx.nd.adam_update(mx.nd.array(w), mx.nd.array(g), *states, lr=0.01, beta1=0.8, beta2=0.99,
                            epsilon=1e-6, wd=0.02)
    grad = g + 0.02 * w
    m = 0.8 * mean + 0.2 * grad
    v = 0.99 * var + 0.01 * grad * grad
    np.testing.assert_allclose(states[0].asnumpy(), m, rtol=1e-5)
    np.testing.assert_allclose(states[1].asnumpy(), v, rtol=1e-5)
    np.testing.assert_allclose(new.asnumpy(), w - 0.01 * m / (np.sqrt(v) + 1e-6), rtol=1e-5)


def test_without_out_the_weight_is_left_alone():
    w, g = _arrays(4, (3,), (3,))
    weight = mx.nd.array(w)
    new = mx.nd.sgd_update(weight, mx.nd.array(g), lr=0.5)
    np.testing.assert_array_equal(weight.asnumpy(), w)
    np.testing.assert_allclose(new.asnumpy(), w - 0.5 * g, rtol=1e-6)


def test_mixed_precision_keeps_the_float32_master_copy():
    w, g = _arrays(5, (4,), (4,))
    weight = mx.nd.array(w, dtype=np.float16)
    master = weight.astype(np.float32)
    new = mx.nd.mp_sgd_update(weight, mx.nd.array(g, dtype=np.float16), master, lr=0.1)
    assert new.dtype == np.float16 and master.dtype == np.float32
    want = w.astype(np.float16).astype(np.float32) - 0.1 * g.astype(np.float16).astype(np.float32)
    np.testing.assert_allclose(master.asnumpy(), want, rtol=1e-6)


def test_multi_sgd_updates_every_weight_through_out():
    ws = [mx.nd.ones((2,)), mx.nd.ones((3,))]
    gs = [mx.nd.ones((2,)), mx.nd.ones((3,)) * 2]
    mx.nd.multi_sgd_update(ws[0], gs[0], ws[1], gs[1], lrs=(0.1, 0.5), wds=(0.0, 0.0), num_weights=2, out=ws)
    np.testing.assert_allclose(ws[0].asnumpy(), [0.9, 0.9])
    np.testing.assert_allclose(ws[1].asnumpy(), [0.0, 0.0, 0.0])


def test_errors_name_the_problem():
    with pytest.raises(MXNetError, match="mom has shape"):
        mx.nd.sgd_mom_update(mx.nd.ones((3,)), mx.nd.ones((3,)), mx.nd.ones((2,)), lr=0.1)
    with pytest.raises(MXNetError, match="num_weights=2 needs 4"):
        mx.nd.multi_sgd_update(mx.nd.ones((3,)), mx.nd.ones((3,)), lrs=(0.1, 0.1), wds=(0, 0), num_weights=2)
    with pytest.raises(MXNetError, match="lrs has 1 values"):
        mx.nd.multi_sgd_update(mx.nd.ones((3,)), mx.nd.ones((3,)), mx.nd.ones((3,)), mx.nd.ones((3,)),
                               lrs=(0.1,), wds=(0, 0), num_weights=2)


def test_update_ops_are_exported_in_nd():
    assert callable(mx.nd.adam_update) and callable(mx.nd.lamb_update_phase2)
    assert callable(mx.nd.preloaded_multi_sgd_mom_update)


def test_reset_arrays_zeroes_every_array_in_place():
    arrays = [mx.nd.ones((2, 3)), mx.nd.array([1.5, -2.0], dtype=np.float16), mx.nd.ones((4,), dtype=np.float64)]
    buffers = [a._data for a in arrays]
    assert mx.nd.reset_arrays(*arrays, num_arrays=3) == []
    for a, buf in zip(arrays, buffers):
        assert a._data is buf and not a.asnumpy().any()
    with pytest.raises(MXNetError, match="got 1 arrays, but num_arrays=2"):
        mx.nd.reset_arrays(mx.nd.ones(2), num_arrays=2)
    with pytest.raises(MXNetError, match="required parameter num_arrays is missing"):
        mx.nd.reset_arrays(mx.nd.ones(2))
