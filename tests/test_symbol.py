"""mx.sym: naming, graph queries, shape inference, MXNet's JSON and eval."""
import os
import threading

import numpy as np
import pytest

import trainkit as mx
from trainkit.base import MXNetError

DATA = os.path.join(os.path.dirname(__file__), "data")


def mlp():
    data = mx.sym.Variable("data")
    fc1 = mx.sym.FullyConnected(data, name="fc1", num_hidden=8)
    act = mx.sym.Activation(fc1, name="relu1", act_type="relu")
    fc2 = mx.sym.FullyConnected(act, name="fc2", num_hidden=3)
    return mx.sym.SoftmaxOutput(fc2, name="softmax")


# ----- naming ------------------------------------------------------------------------------------
def test_auto_names_count_per_hint_and_explicit_names_do_not_advance():
    with mx.name.NameManager():
        data = mx.sym.Variable("data")
        a = mx.sym.FullyConnected(data, num_hidden=2)
        mx.sym.FullyConnected(data, num_hidden=2, name="myfc")
        b = mx.sym.FullyConnected(a, num_hidden=2)
        act = mx.sym.Activation(b, act_type="relu")
        out = mx.sym.SoftmaxOutput(act)
    assert a.name == "fullyconnected0" and b.name == "fullyconnected1"
    assert act.name == "activation0"
    assert out.list_arguments() == ["data", "fullyconnected0_weight", "fullyconnected0_bias",
                                    "fullyconnected1_weight", "fullyconnected1_bias", "softmaxoutput0_label"]
    assert out.list_outputs() == ["softmaxoutput0_output"]


def test_name_manager_scopes_restore_and_prefix():
    with mx.name.NameManager():
        x = mx.sym.Variable("x")
        mx.sym.FullyConnected(x, num_hidden=1)
        with mx.name.NameManager():
            assert mx.sym.FullyConnected(x, num_hidden=1).name == "fullyconnected0"
        assert mx.sym.FullyConnected(x, num_hidden=1).name == "fullyconnected1"
        with mx.name.Prefix("net_"):
            fc = mx.sym.FullyConnected(x, num_hidden=1)
            named = mx.sym.FullyConnected(x, num_hidden=1, name="head")
        assert fc.list_arguments() == ["x", "net_fullyconnected0_weight", "net_fullyconnected0_bias"]
        assert named.name == "net_head"


def test_new_thread_counts_from_zero():
    names = []

    def work():
        names.append(mx.sym.Dropout(mx.sym.Variable("x")).name)
    with mx.name.NameManager():
        mx.sym.Dropout(mx.sym.Variable("x"))
        t = threading.Thread(target=work)
        t.start()
        t.join()
    assert names == ["dropout0"]


def test_arithmetic_names_and_ops():
    with mx.name.NameManager():
        a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
        s = a + b
        m = s * 2
        r = 1 - m
        d = r / b
        p = d ** 2
    assert [s.name, m.name, r.name, d.name, p.name] == ["_plus0", "_mulscalar0", "_rminusscalar0", "_div0",
                                                       "_powerscalar0"]
    assert '"op": "_mul_scalar"' in m.tojson() and '"scalar": "2"' in m.tojson()
    out = p.eval(a=mx.nd.array([1.0, 2.0]), b=mx.nd.array([2.0, 4.0]))[0]
    a_, b_ = np.array([1.0, 2.0]), np.array([2.0, 4.0])
    np.testing.assert_allclose(out.asnumpy(), ((1 - (a_ + b_) * 2) / b_) ** 2, rtol=1e-6)
    assert (-a).name.startswith("_mulscalar")


def test_variable_needs_a_name_and_stores_attrs():
    with pytest.raises(TypeError):
        mx.sym.Variable()
    with pytest.raises(TypeError):
        mx.sym.Variable(3)
    v = mx.sym.Variable("w", shape=(2, 3), init=mx.init.Normal(0.5), dtype="float64", lr_mult=2.0, __foo__=1)
    assert v.attr_dict() == {"w": {"__shape__": "(2, 3)", "__init__": '["normal", {"sigma": 0.5}]',
                                   "__dtype__": "1", "__lr_mult__": "2.0", "lr_mult": "2.0", "__foo__": "1"}}
    # MXNet lists its hidden keys (lr_mult, wd_mult, ctx_group, ...) under both spellings; JSON keeps one
    assert v.attr("lr_mult") == "2.0" and '"lr_mult"' not in v.tojson()
    with pytest.raises(ValueError, match="double underscores"):
        mx.sym.Variable("w", foo=1)
    assert repr(v) == "<Symbol w>" and v.list_outputs() == ["w"]


def test_batchnorm_arguments_aux_states_and_init_attrs():
    data = mx.sym.Variable("data")
    bn = mx.sym.BatchNorm(data, name="bn", fix_gamma=False)
    assert bn.list_arguments() == ["data", "bn_gamma", "bn_beta"]
    assert bn.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
    assert bn.list_inputs() == ["data", "bn_gamma", "bn_beta", "bn_moving_mean", "bn_moving_var"]
    attrs = bn.attr_dict()
    assert attrs["bn_moving_mean"] == {"fix_gamma": "False", "__init__": '["zero", {}]'}
    assert attrs["bn_moving_var"]["__init__"] == '["one", {}]'
    assert attrs["bn"] == {"fix_gamma": "False"}
    text = bn.tojson()
    assert '"inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 1], [4, 0, 1]]' in text
    assert '"attrs": {\n        "__init__": "[\\"zero\\", {}]", \n        "fix_gamma": "False"\n      }' in text
    assert '"node_row_ptr": [0, 1, 2, 3, 4, 5, 8]' in text  # BatchNorm has 3 outputs, 1 visible


def test_prelu_has_a_learnable_gamma():
    x = mx.sym.Variable("x")
    pr = mx.sym.LeakyReLU(x, act_type="prelu", name="pr")
    assert pr.list_arguments() == ["x", "pr_gamma"]
    arg, out, _ = pr.infer_shape(x=(2, 3, 4))
    assert arg == [(2, 3, 4), (3,)] and out == [(2, 3, 4)]
    xv = np.array([[-2.0, 1.0, -1.0]], np.float32)
    y = pr.eval(x=mx.nd.array(xv), pr_gamma=mx.nd.array([0.5, 0.5, 0.1]))[0].asnumpy()
    np.testing.assert_allclose(y, [[-1.0, 1.0, -0.1]], rtol=1e-6)


def test_softmax_label_naming_and_regression_outputs():
    fc = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=2, name="fc")
    assert mx.sym.SoftmaxOutput(fc, name="softmax").list_arguments()[-1] == "softmax_label"
    assert mx.sym.LinearRegressionOutput(fc, name="lro").list_arguments()[-1] == "lro_label"
    assert mx.sym.LogisticRegressionOutput(fc, name="lg").list_arguments()[-1] == "lg_label"


# ----- shapes ----------------------------------------------------------------------------------
def test_infer_shape_from_data():
    arg, out, aux = mlp().infer_shape(data=(4, 5))
    assert arg == [(4, 5), (8, 5), (8,), (3, 8), (3,), (4,)]
    assert out == [(4, 3)] and aux == []
    assert mlp().infer_shape((4, 5))[0] == arg


def test_infer_shape_for_more_ops():
    x = mx.sym.Variable("x")
    y = mx.sym.Variable("y")
    assert mx.sym.concat(x, y, dim=1).infer_shape(x=(2, 3), y=(2, 4))[1] == [(2, 7)]
    assert mx.sym.reshape(x, shape=(0, -1)).infer_shape(x=(2, 3, 4))[1] == [(2, 12)]
    assert mx.sym.sum(x, axis=1).infer_shape(x=(2, 3, 4))[1] == [(2, 4)]
    assert mx.sym.mean(x).infer_shape(x=(2, 3))[1] == [(1,)]
    assert mx.sym.dot(x, y).infer_shape(x=(2, 3), y=(3, 5))[1] == [(2, 5)]
    assert mx.sym.flatten(x).infer_shape(x=(2, 3, 4))[1] == [(2, 12)]
    fc = mx.sym.FullyConnected(x, num_hidden=4, flatten=False, no_bias=True, name="f")
    assert fc.list_arguments() == ["x", "f_weight"]
    assert fc.infer_shape(x=(2, 3, 5)) == ([(2, 3, 5), (4, 5)], [(2, 3, 4)], [])


def test_infer_shape_error_names_layer_and_shapes():
    with pytest.raises(MXNetError) as e:
        mlp().infer_shape(data=(4, 5), fc1_weight=(8, 6))
    msg = str(e.value)
    assert "fc1" in msg and "(8, 6)" in msg and "(8, 5)" in msg and "(4, 5)" in msg
    x, y = mx.sym.Variable("x"), mx.sym.Variable("y")
    with pytest.raises(MXNetError, match=r"layer '_plus\d+'.*\(2, 3\).*\(2, 4\)"):
        (x + y).infer_shape(x=(2, 3), y=(2, 4))
    with pytest.raises(MXNetError, match="not an input"):
        mlp().infer_shape(bogus=(1,))


def test_infer_shape_unknown_warns_and_partial():
    x, w = mx.sym.Variable("x"), mx.sym.Variable("w")
    s = mx.sym.dot(x, w)
    with pytest.warns(UserWarning, match="Cannot decide shape"):
        assert s.infer_shape(x=(2, 3)) == (None, None, None)
    assert s.infer_shape_partial(x=(2, 3)) == ([(2, 3), ()], [()], [])
    assert mx.sym.Variable("v", shape=(3, 2)).infer_shape() == ([(3, 2)], [(3, 2)], [])


# ----- JSON ------------------------------------------------------------------------------------
def test_tojson_matches_mxnet_file_byte_for_byte():
    with open(os.path.join(DATA, "mlp-symbol.json")) as f:
        ref = f.read()
    assert mlp().tojson() == ref
    loaded = mx.sym.load_json(ref)
    assert loaded.tojson() == ref
    assert loaded.list_arguments() == mlp().list_arguments()
    assert loaded.attr_dict() == mlp().attr_dict()


def test_save_and_load_file(tmp_path):
    data = mx.sym.Variable("data")
    net = mx.sym.BatchNorm(mx.sym.FullyConnected(data, num_hidden=3, name="fc"), name="bn")
    net = mx.sym.Dropout(mx.sym.Activation(net, act_type="tanh"), p=0.3)
    path = str(tmp_path / "net-symbol.json")
    net.save(path)
    back = mx.sym.load(path)
    assert back.tojson() == net.tojson()
    assert back.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
    arrays = {n: mx.nd.ones(s) for n, s in zip(back.list_inputs(), back.infer_shape(data=(2, 4))[0] +
                                               back.infer_shape(data=(2, 4))[2])}
    np.testing.assert_allclose(back.eval(**arrays)[0].asnumpy(), net.eval(**arrays)[0].asnumpy())


def test_load_json_errors():
    with pytest.raises(MXNetError, match="not valid JSON"):
        mx.sym.load_json("{nope")
    with pytest.raises(MXNetError, match="'nodes' and 'heads'"):
        mx.sym.load_json("{}")


def test_many_inputs_use_multi_line_entry_lists():
    xs = [mx.sym.Variable(f"x{i}") for i in range(11)]
    text = mx.sym.concat(*xs, name="cat").tojson()
    assert '"inputs": [\n        [0, 0, 0], \n' in text
    assert '"dim": "1"' not in text and '"num_args": "11"' in text


# ----- eval and structure ----------------------------------------------------------------------
def test_eval_mlp_matches_numpy():
    rng = np.random.RandomState(0)
    vals = {"data": rng.randn(4, 5), "fc1_weight": rng.randn(8, 5), "fc1_bias": rng.randn(8),
            "fc2_weight": rng.randn(3, 8), "fc2_bias": rng.randn(3), "softmax_label": np.zeros(4)}
    out = mlp().eval(**{k: mx.nd.array(v) for k, v in vals.items()})[0].asnumpy()
    h = np.maximum(vals["data"] @ vals["fc1_weight"].T + vals["fc1_bias"], 0)
    z = h @ vals["fc2_weight"].T + vals["fc2_bias"]
    want = np.exp(z - z.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    np.testing.assert_allclose(out, want, rtol=1e-5)
    with pytest.raises(MXNetError, match="missing"):
        mlp().eval(data=mx.nd.ones((4, 5)))


def test_group_getitem_internals_children():
    x = mx.sym.Variable("x")
    a = mx.sym.exp(x, name="e")
    b = mx.sym.log(x, name="l")
    g = mx.sym.Group([a, b])
    assert g.list_outputs() == ["e_output", "l_output"] and len(g) == 2
    assert repr(g) == "<Symbol group [e, l]>" and g.name is None
    assert g["l_output"].name == "l" and g[0].name == "e"
    outs = g.eval(x=mx.nd.array([1.0, 2.0]))
    np.testing.assert_allclose(outs[1].asnumpy(), np.log([1.0, 2.0]), rtol=1e-6)
    internals = mlp().get_internals()
    assert "fc1_output" in internals.list_outputs()
    assert internals["relu1_output"].name == "relu1"
    assert mlp().get_children().list_outputs() == ["fc2_output", "softmax_label"]
    assert x.get_children() is None


def test_unexpected_arguments_and_missing_required_params():
    x = mx.sym.Variable("x")
    with pytest.raises(TypeError, match="num_hiden"):
        mx.sym.FullyConnected(x, num_hiden=3)
    with pytest.raises(MXNetError, match="num_hidden"):
        mx.sym.FullyConnected(x)
    with pytest.raises(MXNetError, match="single-output"):
        mx.sym.exp(mx.sym.Group([x, x]))


def test_dropout_and_batchnorm_follow_training_mode_in_eval():
    x = mx.sym.Variable("x")
    d = mx.sym.Dropout(x, p=0.5)
    ones = mx.nd.ones((100,))
    np.testing.assert_array_equal(d.eval(x=ones)[0].asnumpy(), np.ones(100))  # eval is predict mode
    bn = mx.sym.BatchNorm(x, name="bn")
    out = bn.eval(x=mx.nd.ones((2, 2)), bn_gamma=mx.nd.ones(2), bn_beta=mx.nd.zeros(2),
                  bn_moving_mean=mx.nd.zeros(2), bn_moving_var=mx.nd.ones(2))[0]
    np.testing.assert_allclose(out.asnumpy(), np.full((2, 2), 1 / np.sqrt(1 + 1e-3)), rtol=1e-6)


def test_eval_under_record_is_differentiable():
    x = mx.sym.Variable("x")
    s = mx.sym.sum(mx.sym.square(x))
    v = mx.nd.array([1.0, 2.0, 3.0])
    v.attach_grad()
    with mx.autograd.record():
        y = s.eval(x=v)[0]
    y.backward()
    np.testing.assert_allclose(v.grad.asnumpy(), [2.0, 4.0, 6.0])


def test_deepcopy_and_pickle():
    import copy
    import pickle
    net = mlp()
    assert copy.deepcopy(net).tojson() == net.tojson()
    assert pickle.loads(pickle.dumps(net)).tojson() == net.tojson()


# ----- symbols as a runtime: dunders, composition, attributes, scopes, custom ops ----------------------
def _run_sym(sym, **arrays):
    exe = sym.bind(mx.cpu(), args={k: mx.nd.array(v) for k, v in arrays.items()})
    return exe.forward()[0].asnumpy()


def test_comparison_and_mod_dunders_name_and_values_as_mxnet():
    x, y = mx.sym.Variable("x"), mx.sym.Variable("y")
    xv, yv = np.array([1.0, 2.0, 5.0]), np.array([2.0, 2.0, 3.0])
    with mx.name.NameManager():
        cases = [(x == 1, "_equal_scalar0", xv == 1), (x != y, "_not_equal0", xv != yv),
                 (x > y, "_greater0", xv > yv), (1 > x, "_lesser_scalar0", 1 > xv),
                 (x <= 2, "_lesser_equal_scalar0", xv <= 2), (x % 3, "_modscalar0", xv % 3),
                 (7 % x, "_rmodscalar0", 7 % xv), (x % y, "_mod0", xv % yv),
                 (2 ** x, "_rpower_scalar0", 2 ** xv), (abs(-x), "abs0", xv)]
        for sym, name, want in cases:
            assert sym.name == name
            args = {k: v for k, v in (("x", xv), ("y", yv)) if k in sym.list_arguments()}
            np.testing.assert_allclose(_run_sym(sym, **args), want.astype(np.float32))
    with pytest.raises(TypeError, match="not supported"):
        x + "a"
    assert {x: 1}[x] == 1  # still hashable
    with pytest.raises(MXNetError, match="not implemented for Symbol"):
        bool(x)


def test_maximum_minimum_power_functions():
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    av, bv = np.array([1.0, 5.0]), np.array([2.0, 3.0])
    np.testing.assert_allclose(_run_sym(mx.sym.maximum(a, b), a=av, b=bv), [2.0, 5.0])
    np.testing.assert_allclose(_run_sym(mx.sym.minimum(a, 2), a=av), [1.0, 2.0])
    np.testing.assert_allclose(_run_sym(mx.sym.power(2, a), a=av), [2.0, 32.0])
    assert mx.sym.maximum(1, 2) == 2 and mx.sym.pow is mx.sym.power


def test_composition_by_call_and_children():
    data = mx.sym.Variable("data")
    net1 = mx.sym.FullyConnected(data=data, name="fc1", num_hidden=3)
    net2 = mx.sym.FullyConnected(name="fc3", num_hidden=2)
    assert net2.list_arguments() == ["fc3_data", "fc3_weight", "fc3_bias"]
    composed = net2(fc3_data=net1, name="composed")
    assert composed.name == "composed"
    assert composed.list_arguments() == ["data", "fc1_weight", "fc1_bias", "fc3_weight", "fc3_bias"]
    assert net2.list_arguments() == ["fc3_data", "fc3_weight", "fc3_bias"]  # the original is unchanged
    s = mx.sym.Variable("a") + mx.sym.Variable("b")
    assert s(a=data).list_arguments() == ["data", "b"]
    with pytest.raises(TypeError, match="not both"):
        s(data, b=data)
    kids = composed.get_children()
    assert kids.list_outputs() == ["fc1_output", "fc3_weight", "fc3_bias"]
    assert kids.get_children().list_outputs() == ["data", "fc1_weight", "fc1_bias"]
    assert data.get_children() is None
    with pytest.raises(ValueError, match='Cannot find output that matches name "zz"'):
        composed.get_internals()["zz"]


def test_hidden_attribute_keys_and_attr_scope():
    with mx.AttrScope(ctx_group="dev1", lr_mult="0.5"):
        v = mx.sym.Variable("v")
        fc = mx.sym.FullyConnected(v, num_hidden=2, name="fc", attr={"wd_mult": "0"})
    assert v.list_attr() == {"__ctx_group__": "dev1", "ctx_group": "dev1", "__lr_mult__": "0.5", "lr_mult": "0.5"}
    assert fc.attr("wd_mult") == "0" and fc.attr_dict()["fc_weight"]["lr_mult"] == "0.5"
    assert "__wd_mult__" in fc.tojson() and '"wd_mult"' not in fc.tojson()
    with pytest.raises(MXNetError, match="Cannot find argument 'foo'"):
        mx.sym.FullyConnected(v, num_hidden=2, attr={"foo": "bar"})
    with pytest.raises(ValueError, match="string"):
        mx.AttrScope(lr_mult=0.5)


def test_infer_type_flows_through_the_graph():
    data = mx.sym.Variable("data")
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(data, num_hidden=3, name="fc"), name="sm")
    arg, out, aux = net.infer_type(data=np.float64)
    assert arg == [np.float64] * 4 and out == [np.float64] and aux == []
    assert net.infer_type_partial() == ([None] * 4, [None], [])
    with pytest.warns(UserWarning, match="Cannot decide type"):
        assert net.infer_type() == (None, None, None)


def test_fluent_methods_and_deepcopy():
    import copy
    x = mx.sym.Variable("x")
    np.testing.assert_allclose(_run_sym(x.exp().sum(), x=np.zeros(3)), [3.0])
    y = x * 2
    assert copy.deepcopy(y).tojson() == y.tojson() and copy.copy(y).tojson() == y.tojson()


def test_custom_operator_in_nd_and_sym():
    @mx.operator.register("tk_scale3")
    class Scale3Prop(mx.operator.CustomOpProp):
        def __init__(self, factor="3"):
            super().__init__(need_top_grad=True)
            self.factor = float(factor)

        def create_operator(self, ctx, shapes, dtypes):
            factor = self.factor

            class Scale3(mx.operator.CustomOp):
                def forward(self, is_train, req, in_data, out_data, aux):
                    self.assign(out_data[0], req[0], in_data[0] * factor)

                def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
                    self.assign(in_grad[0], req[0], out_grad[0] * factor)
            return Scale3()

    x = mx.nd.array([1.0, -2.0])
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.Custom(x, op_type="tk_scale3", factor=4)
    y.backward(mx.nd.array([1.0, 0.5]))
    np.testing.assert_allclose(y.asnumpy(), [4.0, -8.0])
    np.testing.assert_allclose(x.grad.asnumpy(), [4.0, 2.0])
    with pytest.raises(MXNetError, match="Cannot find custom operator 'nope'"):
        mx.nd.Custom(x, op_type="nope")


def test_custom_operator_as_symbol_with_aux_state():
    class Sqr(mx.operator.CustomOp):
        def forward(self, is_train, req, in_data, out_data, aux):
            aux[0][:] = 1
            self.assign(out_data[0], req[0], in_data[0] * in_data[0])

        def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
            self.assign(in_grad[0], req[0], 2 * in_data[0] * out_grad[0])

    @mx.operator.register("tk_sqr")
    class SqrProp(mx.operator.CustomOpProp):
        def list_auxiliary_states(self):
            return ["aux"]

        def infer_shape(self, in_shape):
            return in_shape, [in_shape[0]], [in_shape[0]]

        def create_operator(self, ctx, shapes, dtypes):
            return Sqr()

    op = mx.sym.Custom(data=mx.sym.Variable("data"), aux=mx.sym.Variable("aux"), name="sqr", op_type="tk_sqr")
    assert (op.list_arguments(), op.list_auxiliary_states(), op.list_outputs()) == (["data"], ["aux"], ["sqr_output"])
    assert op.infer_shape(data=(4, 10)) == ([(4, 10)], [(4, 10)], [(4, 10)])
    assert mx.sym.load_json(op.tojson()).tojson() == op.tojson()
    exe = op.simple_bind(mx.cpu(), data=(2,))
    exe.forward(is_train=True, data=mx.nd.array([3.0, -1.0]))
    exe.backward(mx.nd.ones(2))
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), [9.0, 1.0])
    np.testing.assert_allclose(exe.grad_dict["data"].asnumpy(), [6.0, -2.0])
    np.testing.assert_allclose(exe.aux_dict["aux"].asnumpy(), [1.0, 1.0])
    mx.test_utils.check_numeric_gradient(op, [np.random.uniform(-1, 1, (3, 4))], [np.zeros((3, 4))])


def test_attr_scope_nests_and_top_level_names():
    assert mx.AttrScope is mx.attribute.AttrScope and mx.executor.Executor.__name__ == "Executor"
    with mx.AttrScope(group="a", lr_mult="2"):
        with mx.AttrScope(group="b"):
            inner = mx.sym.Variable("inner", attr={"__group__": "c"})
            both = mx.sym.Variable("both")
        outer = mx.sym.Variable("outer")
    after = mx.sym.Variable("after")
    assert inner.attr("__group__") == "c"  # the symbol's own attr wins
    assert both.list_attr() == {"__group__": "b", "__lr_mult__": "2", "lr_mult": "2"}
    assert outer.attr("__group__") == "a" and after.list_attr() == {}


def test_positional_composition_follows_argument_order():
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    net = a * 2 - b
    x, y = mx.sym.Variable("x"), mx.sym.Variable("y")
    composed = net(x, y)
    assert composed.list_arguments() == ["x", "y"]
    np.testing.assert_allclose(_run_sym(composed, x=np.array([3.0]), y=np.array([1.0])), [5.0])
    with pytest.raises(TypeError, match="Compose expect `Symbol`"):
        net(a=1)
