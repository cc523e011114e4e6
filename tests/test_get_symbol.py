"""autograd.get_symbol: MXNet's names and JSON, and a Symbol that recomputes the recorded value."""
import os
import subprocess
import sys

import numpy as np
import pytest

import trainkit as mx
from trainkit.base import MXNetError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

EXPECTED_JSON = """{
  "nodes": [
    {
      "op": "null", 
      "name": "var0", 
      "inputs": []
    }, 
    {
      "op": "exp", 
      "name": "node_0", 
      "inputs": [[0, 0, 0]]
    }, 
    {
      "op": "elemwise_add", 
      "name": "node_1", 
      "inputs": [[1, 0, 0], [0, 0, 0]]
    }
  ], 
  "arg_nodes": [0], 
  "node_row_ptr": [0, 1, 2, 3], 
  "heads": [[2, 0, 0]], 
  "attrs": {"mxnet_version": ["int", 10901]}
}"""

FRESH = """
import trainkit as mx
x = mx.nd.ones((2,))
x.attach_grad()
with mx.autograd.record():
    z = mx.nd.elemwise_add(mx.nd.exp(x), x)
s = mx.autograd.get_symbol(z)
print(s.list_arguments(), s.list_outputs(), s.name, repr(s))
print(s.tojson())
"""


def test_fresh_process_names_and_exact_json():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", FRESH], capture_output=True, text=True, env=env, check=True).stdout
    first, rest = out.split("\n", 1)
    assert first == "['var0'] ['node_1_output'] node_1 <Symbol node_1>"
    assert rest == EXPECTED_JSON + "\n"


def test_names_follow_the_process_counters():
    x = mx.nd.ones((2,))
    x.attach_grad()
    with mx.autograd.record():
        z = mx.nd.elemwise_add(mx.nd.exp(x), x)
    s = mx.autograd.get_symbol(z)
    k = x._node.id
    assert s.list_arguments() == [f"var{k}"]
    assert s.name == f"node_{z._node.id}" and s.list_outputs() == [f"node_{z._node.id}_output"]
    np.testing.assert_allclose(s.eval(**{f"var{k}": mx.nd.array([0.0, 1.0])})[0].asnumpy(),
                               np.exp([0.0, 1.0]) + [0.0, 1.0], rtol=1e-6)


def test_constants_are_captured_and_scalar_attrs_are_strings():
    a = mx.nd.array([1.0, 2.0])
    a.attach_grad()
    b = mx.nd.array([3.0, 4.0])  # not marked: becomes a null<k> variable with its value kept
    with mx.autograd.record():
        y = a * b + 3
    s = mx.autograd.get_symbol(y)
    args = s.list_arguments()
    assert args[0] == f"var{a._node.id}" and args[1].startswith("null")
    text = s.tojson()
    assert '"op": "broadcast_mul"' in text and '"attrs": {"scalar": "3.0"}' in text
    out = s.eval(**{args[0]: mx.nd.array([2.0, 2.0])})[0]
    np.testing.assert_allclose(out.asnumpy(), [9.0, 11.0])
    b[:] = 0  # later changes to the constant do not leak into the symbol
    np.testing.assert_allclose(s.eval(**{args[0]: a})[0].asnumpy(), y.asnumpy())


def test_eval_reproduces_a_network_with_reductions_and_reshapes():
    rng = np.random.RandomState(1)
    x = mx.nd.array(rng.randn(3, 4))
    w = mx.nd.array(rng.randn(2, 4))
    x.attach_grad()
    w.attach_grad()
    with mx.autograd.record():
        h = mx.nd.FullyConnected(x, w, num_hidden=2, no_bias=True)
        y = mx.nd.sum(mx.nd.softmax(h).reshape((-1,)) * 2, axis=0)
    s = mx.autograd.get_symbol(y)
    vx, vw = f"var{x._node.id}", f"var{w._node.id}"
    assert s.list_arguments() == [vx, vw]
    np.testing.assert_allclose(s.eval(**{vx: x, vw: w})[0].asnumpy(), y.asnumpy(), rtol=1e-6)
    assert s.infer_shape(**{vx: (3, 4), vw: (2, 4)})[1] == [(1,)]


def test_multi_output_ops_name_their_outputs():
    x = mx.nd.arange(6).reshape((2, 3))
    x.attach_grad()
    with mx.autograd.record():
        parts = mx.nd.split(x, num_outputs=3, axis=1)
    s = mx.autograd.get_symbol(parts[1])
    node = parts[1]._node.id
    assert s.list_outputs() == [f"node_{node}_output1"]
    np.testing.assert_allclose(s.eval(**{f"var{x._node.id}": x})[0].asnumpy(), [[1.0], [4.0]])


def test_leaf_symbol_is_the_variable():
    x = mx.nd.ones((2,))
    x.attach_grad()
    s = mx.autograd.get_symbol(x)
    assert s.list_arguments() == s.list_outputs() == [f"var{x._node.id}"]


def test_errors():
    with pytest.raises(MXNetError, match="not part of a computation graph"):
        mx.autograd.get_symbol(mx.nd.ones((2,)))
    with pytest.raises(TypeError, match="expecting NDArray"):
        mx.autograd.get_symbol(3)
    x = mx.nd.ones((2,))
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.exp(x)
    y.backward()
    with pytest.raises(MXNetError):
        mx.autograd.get_symbol(y)


def test_recorded_symbol_becomes_a_module():
    rng = np.random.RandomState(2)
    x, w, b = mx.nd.array(rng.randn(4, 3)), mx.nd.array(rng.randn(2, 3)), mx.nd.array(rng.randn(2))
    for v in (x, w, b):
        v.attach_grad()
    with mx.autograd.record():
        y = mx.nd.tanh(mx.nd.FullyConnected(x, w, b, num_hidden=2))
    sym = mx.autograd.get_symbol(y)
    data_name = f"var{x._node.id}"
    mod = mx.mod.Module(sym, data_names=[data_name], label_names=None)
    mod.bind(data_shapes=[(data_name, (4, 3))])  # parameter shapes come from the recorded arrays
    mod.init_params(arg_params={f"var{w._node.id}": w, f"var{b._node.id}": b})
    np.testing.assert_allclose(mod.predict(x).asnumpy(), y.asnumpy(), rtol=1e-6)
    assert '"op": "FullyConnected"' in sym.tojson() and '"num_hidden": "2"' in sym.tojson()
