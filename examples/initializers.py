"""Initializers, the MXNet way: dumps strings, Mixed by regex, and a dry-run table.

Run: python examples/initializers.py
"""
import logging

import trainkit as mx

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")

# dumps() gives MXNet's exact JSON, and create() rebuilds the initializer from it
for initializer in (mx.init.Normal(0.8), mx.init.Xavier(factor_type="in", magnitude=2.45)):
    text = initializer.dumps()
    print(repr(text))
    assert mx.init.create(text) == initializer

# Mixed tries its patterns with re.match, which is anchored at the start of the
# name: 'bias' would never match 'fullyconnected0_bias', '.*bias' does.
mixed = mx.init.Mixed([".*bias", ".*"], [mx.init.Constant(0.1), mx.init.Uniform(0.1)])
mx.random.seed(0)
weight, bias = mx.nd.zeros((1, 3)), mx.nd.zeros((1,))
mixed(mx.init.InitDesc("fullyconnected0_weight"), weight)
mixed(mx.init.InitDesc("fullyconnected0_bias"), bias)
print("weight", weight.asnumpy())
# As in MXNet, every initializer writes 0 into a *_bias: the name suffix decides.
# Give the variable its own initializer to change that:
bias_desc = mx.init.InitDesc("fullyconnected0_bias", {"__init__": mx.init.Constant(0.1).dumps()})
mixed(bias_desc, bias)
print("bias", bias.asnumpy())
print(mixed.dumps())

# The Module warns about patterns that matched nothing; the helper it calls:
mx.init.warn_unmatched(mx.init.Mixed(["bias", ".*"], [mx.init.Zero(), mx.init.Uniform(0.1)]),
                       ["fullyconnected0_weight", "fullyconnected0_bias"])

# describe(): what each parameter will get, without drawing anything
shapes = {"conv0_weight": (32, 3, 3, 3), "conv0_bias": (32,), "bn0_gamma": (32,),
          "fc1_weight": (10, 512), "fc1_bias": (10,)}
net_init = mx.init.Mixed(["conv.*", ".*"], [mx.init.MSRAPrelu(slope=0), mx.init.Orthogonal()])
print(mx.init.format_table(mx.init.describe(net_init, shapes)))
