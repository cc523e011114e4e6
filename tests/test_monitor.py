"""mx.mon.Monitor on an Executor and on a Module: which arrays it sees, their statistics, toc_print."""
import logging
from functools import reduce

import numpy as np

import trainkit as mx


def _mean_abs(x):
    return mx.nd.sum(mx.nd.abs(x)) / reduce(lambda a, b: a * b, x.shape)


def _net():
    x = mx.sym.Variable("data")
    x = mx.sym.FullyConnected(name="fc_0", data=x, num_hidden=2)
    x = mx.sym.Activation(name="act_0", data=x, act_type="sigmoid")
    x = mx.sym.FullyConnected(name="fc_1", data=x, num_hidden=2)
    x = mx.sym.Activation(name="act_1", data=x, act_type="sigmoid")
    return mx.sym.LinearRegressionOutput(data=x, name="softmax", grad_scale=2)


ARGS = {"fc_0_weight": [[.15, .20], [.25, .30]], "fc_0_bias": [.35, .35],
        "fc_1_weight": [[.40, .45], [.50, .55]], "fc_1_bias": [.60, .60]}


def test_module_monitor_sees_outputs_gradients_and_parameters():
    it = mx.io.NDArrayIter(mx.nd.array([[0.05, .10]]), mx.nd.array([[.01, 0.99]]), batch_size=1)
    mon = mx.mon.Monitor(1, stat_func=_mean_abs, pattern=".*", sort=True)
    mod = mx.mod.Module(_net(), context=[mx.cpu()])
    mod.bind(it.provide_data, label_shapes=it.provide_label, for_training=True)
    mod.install_monitor(mon)
    mod.init_params(arg_params={k: mx.nd.array(v) for k, v in ARGS.items()})
    mon.tic()
    mod.forward_backward(next(iter(it)))
    res = mon.toc()
    names = [k for _, k, _ in res]
    # values checked against MXNet 1.9.1 on the same network (the classic worked backprop example)
    expected = {"act_0_output": 0.59507716, "act_1_output": 0.7621468, "data": 0.075, "fc_0_output": 0.385,
                "fc_1_output": 1.1654137, "fc_0_backward_output1": 0.00070221035,
                "fc_0_backward_output2": 0.009362806, "fc_1_backward_output1": 0.05254436,
                "fc_1_backward_output2": 0.088298395, "softmax_backward_output0": 0.4792183,
                "act_1_backward_output": 0.088298395, "softmax_label": 0.5}
    assert len(res) == 21 and names == sorted(names)
    got = {k: float(v.strip()) for _, k, v in res}
    for k, v in expected.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-5, err_msg=k)
    # the monitored step trains exactly like the plain one
    mod.init_optimizer()
    mod.update()
    np.testing.assert_allclose(mod.get_params()[0]["fc_1_bias"].asnumpy(), [0.59861505, 0.600381], rtol=1e-6)
    assert mon.toc() == []  # not activated again until the next tic


def test_monitor_interval_pattern_and_print(caplog):
    x = mx.sym.Variable("x")
    y = mx.sym.relu(x, name="r")
    exe = y.simple_bind(mx.cpu(), x=(2,), grad_req="null")
    mon = mx.mon.Monitor(2, pattern="r_.*")
    mon.install(exe)
    collected = []
    for step in range(4):
        mon.tic()
        exe.forward(x=mx.nd.array([-3.0, 4.0]))
        collected.append(mon.toc())
    assert [len(c) for c in collected] == [1, 0, 1, 0]
    step, name, text = collected[0][0]
    assert (step, name) == (1, "r_output")
    np.testing.assert_allclose(float(text), np.linalg.norm([0.0, 4.0]) / np.sqrt(2), rtol=1e-6)
    mon.tic()
    exe.forward()
    with caplog.at_level(logging.INFO):
        mon.toc_print()
    assert "Batch:       5 r_output" in caplog.text
