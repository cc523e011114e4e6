"""The one operator table: every entry is an mx.nd function with out=/name= and an mx.sym operator."""
import numpy as np
import pytest

import trainkit as mx
from trainkit.base import MXNetError
from trainkit.ops.table import OPERATORS, split_namespace


def test_every_table_operator_is_in_nd_and_sym():
    for key, spec in OPERATORS.items():
        assert hasattr(mx.nd, key), key
        # hand-written symbol operators with a leading underscore live in mx.sym._internal, as in MXNet
        assert callable(getattr(mx.sym, key, None) or getattr(mx.sym._internal, key)), key
        sub, short = split_namespace(key)
        if sub is not None:
            assert hasattr(getattr(mx.nd, sub), short), key
            assert hasattr(getattr(mx.sym, sub), short), key


def test_out_writes_into_the_given_array_and_returns_it():
    x = mx.nd.array([0.5, 2.0])
    y = mx.nd.zeros((2,))
    r = mx.nd.rsqrt(x, out=y)
    assert r is y
    np.testing.assert_allclose(y.asnumpy(), 1 / np.sqrt([0.5, 2.0]), rtol=1e-6)
    assert mx.nd.arcsinh(x, name="ignored").shape == (2,)


def test_out_of_the_wrong_shape_raises():
    with pytest.raises(MXNetError, match="out= has shape"):
        mx.nd.tan(mx.nd.ones((2,)), out=mx.nd.zeros((3,)))


def test_out_into_a_recorded_array_raises_as_mxnet():
    x = mx.nd.ones((2,))
    x.attach_grad()
    with mx.autograd.record():
        with pytest.raises(MXNetError, match="already in a computational graph"):
            mx.nd.tan(x, out=x)


def test_out_under_record_carries_the_gradient():
    x = mx.nd.array([0.2, 0.4])
    x.attach_grad()
    z = mx.nd.zeros((2,))
    with mx.autograd.record():
        mx.nd.arcsin(x, out=z)
        loss = (z * 2).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), 2 / np.sqrt(1 - np.array([0.2, 0.4]) ** 2), rtol=1e-5)


def test_symbol_naming_attrs_and_eval_match_nd():
    a = mx.sym.var("a")
    with mx.name.NameManager():
        s = mx.sym.hard_sigmoid(a, alpha=0.3)
        assert s.name == "hard_sigmoid0"
        assert mx.sym.broadcast_hypot(a, a).name == "broadcast_hypot0"
        assert mx.sym._mod_scalar(a, scalar=2).name == "_modscalar0"
    assert s.list_attr() == {"alpha": "0.3"}
    assert s.list_outputs() == ["hard_sigmoid0_output"]
    x = mx.nd.array([[-4.0, 0.5, 3.0]])
    np.testing.assert_array_equal(s.eval(a=x)[0].asnumpy(), mx.nd.hard_sigmoid(x, alpha=0.3).asnumpy())
    assert s.infer_shape(a=(2, 5)) == ([(2, 5)], [(2, 5)], [])


def test_positional_parameters_follow_the_nd_signature():
    s = mx.sym.hard_sigmoid(mx.sym.var("a"), 0.1, 0.2)
    assert s.list_attr() == {"alpha": "0.1", "beta": "0.2"}


def test_unknown_parameter_is_a_type_error():
    with pytest.raises(TypeError, match="unexpected argument 'alpah'"):
        mx.sym.hard_sigmoid(mx.sym.var("a"), alpah=1)


def test_operators_without_parameters_ignore_keywords_as_mxnet():
    # MXNet 1.9.1's test_cosine_loss writes broadcast_maximum(zero, x, axis=1): the axis means nothing there
    x = np.array([[1.0, -2.0], [3.0, -4.0]], np.float32)
    want = np.maximum(0, x)
    got = mx.nd.broadcast_maximum(mx.nd.array([0]), mx.nd.array(x), axis=1)
    np.testing.assert_array_equal(got.asnumpy(), want)
    s = mx.sym.broadcast_maximum(mx.sym.var("a"), mx.sym.var("b"), axis=1)
    assert s.list_attr() == {}
    np.testing.assert_array_equal(s.eval(a=mx.nd.array([0]), b=mx.nd.array(x))[0].asnumpy(), want)
    with pytest.raises(TypeError, match="unexpected argument 'axs'"):
        mx.sym.sum(mx.sym.var("a"), axs=1)  # an operator with parameters still names the bad one


def test_missing_inputs_become_variables():
    s = mx.sym.broadcast_mod(name="m")
    assert s.list_arguments() == ["m_lhs", "m_rhs"]


def test_json_round_trip_keeps_attributes_and_runs():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    s = mx.sym.add_n(a, b, mx.sym.erf(a, name="e"), name="total")
    js = s.tojson()
    assert '"op": "add_n"' in js and '"num_args": "3"' in js
    t = mx.sym.load_json(js)
    assert t.tojson() == js
    x, y = mx.nd.array([0.1, 0.2]), mx.nd.array([1.0, 2.0])
    np.testing.assert_allclose(t.eval(a=x, b=y)[0].asnumpy(), (x + y + mx.nd.erf(x)).asnumpy(), rtol=1e-6)


def test_add_n_json_is_mxnets():
    # MXNet 1.9.1: mx.sym.add_n(a, b, name='add_n1').tojson()
    expected = ('{\n  "nodes": [\n    {\n      "op": "null", \n      "name": "a", \n      "inputs": []\n    }, \n'
                '    {\n      "op": "null", \n      "name": "b", \n      "inputs": []\n    }, \n    {\n'
                '      "op": "add_n", \n      "name": "add_n1", \n      "attrs": {"num_args": "2"}, \n'
                '      "inputs": [[0, 0, 0], [1, 0, 0]]\n    }\n  ], \n  "arg_nodes": [0, 1], \n'
                '  "node_row_ptr": [0, 1, 2, 3], \n  "heads": [[2, 0, 0]], \n'
                '  "attrs": {"mxnet_version": ["int", 10901]}\n}')
    assert mx.sym.add_n(mx.sym.var("a"), mx.sym.var("b"), name="add_n1").tojson() == expected


def test_zero_input_operators_take_shape_and_dtype_from_attributes():
    s = mx.sym.zeros((2, 3), dtype="int32")
    assert s.name.startswith("_zeros")
    assert s.list_arguments() == []
    assert s.infer_shape() == ([], [(2, 3)], [])
    out = s.eval()[0]
    assert out.shape == (2, 3) and out.dtype == np.int32
    assert (mx.sym.ones((2,)) + 1).eval()[0].asnumpy().tolist() == [2.0, 2.0]


def test_shape_errors_name_the_layer():
    s = mx.sym.broadcast_hypot(mx.sym.var("a"), mx.sym.var("b"), name="h")
    with pytest.raises(MXNetError, match="layer 'h'"):
        s.infer_shape(a=(2, 3), b=(4,))


def test_infer_type_runs_on_zeros():
    from trainkit.symbol_ops import _OPS
    p = {"num_args": 2}
    assert _OPS["add_n"].infer_type(p, [np.float64, np.float64], [(2,), (2,)]) == [np.float64]
    assert _OPS["_zeros"].infer_type({"dtype": "int32"}, []) == [np.int32]


def test_symbols_record_like_imperative_code():
    x = mx.nd.array([0.3, 0.6])
    x.attach_grad()
    s = mx.sym.arctanh(mx.sym.var("a"))
    with mx.autograd.record():
        y = s.eval(a=x)[0]
    y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), 1 / (1 - np.array([0.3, 0.6]) ** 2), rtol=1e-5)


def test_nd_functions_without_a_symbol_form():
    assert mx.nd.modulo(mx.nd.array([-3.0, 3.0]), 2).asnumpy().tolist() == [1.0, 1.0]
    assert not hasattr(mx.sym, "modulo")


def test_sub_namespaces_exist_in_nd_and_sym():
    for ns in (mx.nd, mx.sym):
        for sub in ("linalg", "random", "contrib", "_internal"):
            assert hasattr(ns, sub), (ns, sub)
    assert mx.nd._internal._mod_scalar is mx.nd._mod_scalar
    assert mx.nd._internal._plus_scalar(mx.nd.ones((2,)), scalar=2).asnumpy().tolist() == [3, 3]
    assert mx.sym._internal._plus_scalar(mx.sym.var("a"), scalar=2, name="p").list_attr() == {"scalar": "2"}


def test_builtin_names_do_not_shadow_the_modules_own_builtins():
    import trainkit.symbol as symbol_module
    assert "slice" not in vars(symbol_module) and callable(mx.sym.slice)
    assert callable(mx.nd.slice)
    from trainkit.symbol import slice as sym_slice
    assert sym_slice is mx.sym.slice


def test_fluent_methods_as_mxnet():
    x = mx.nd.array([[0.5, 0.2, 0.9]])
    np.testing.assert_allclose(x.tan().asnumpy(), np.tan(x.asnumpy()), rtol=1e-6)
    assert x.topk(k=2).asnumpy().tolist() == [[2, 0]]
    s = mx.sym.var("a").sort(axis=1)
    assert s.eval(a=x)[0].asnumpy().tolist() == [[0.2, 0.5, 0.9]] or np.allclose(
        s.eval(a=x)[0].asnumpy(), [[0.2, 0.5, 0.9]])


def test_random_symbols_dispatch_on_symbol_parameters():
    s = mx.sym.random.uniform(low=0, high=1, shape=(2, 3))
    assert s.name.startswith("_random_uniform") and s.infer_shape()[1] == [(2, 3)]
    t = mx.sym.random.normal(loc=mx.sym.var("mu"), scale=mx.sym.var("sigma"), shape=(2,))
    assert t.name.startswith("_sample_normal") and t.list_arguments() == ["mu", "sigma"]
    assert t.infer_shape(mu=(3,), sigma=(3,))[1] == [(3, 2)]
    with pytest.raises(ValueError, match="all be Symbols"):
        mx.sym.random.normal(loc=mx.sym.var("mu"), scale=1.0)


def test_hidden_outputs_count_in_the_json_as_mxnet():
    # MXNet 1.9.1: sort and topk(ret_typ='value') have a hidden indices output
    a = mx.sym.var("a")
    assert '"node_row_ptr": [0, 1, 3]' in mx.sym.sort(a, name="s").tojson()
    assert '"node_row_ptr": [0, 1, 3]' in mx.sym.topk(a, ret_typ="value", name="t").tojson()
    assert '"node_row_ptr": [0, 1, 2]' in mx.sym.topk(a, name="t").tojson()
    assert mx.sym.Cast(a, dtype="int32", name=None).name.startswith("cast")
