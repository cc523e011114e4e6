# The code of the seed tutorial (000_755f0d3848daf79e.txt), in order, with only the lost
# indentation restored and the Module it calls `module` built first. Run it with
# trainkit; tests/data/seed_examples.out is what MXNet 1.9.1 prints in a fresh process.
import trainkit as mx

class sigmoid(mx.autograd.Function):
   def forward(self, x):
      y = 1 / (1 + mx.nd.exp(-x))
      self.save_for_backward(y)
      return y

   def backward(self, dy):
      y, = self.saved_tensors
      return dy * y * (1-y)

func = sigmoid()
x = mx.nd.random.uniform(shape=(10,))
x.attach_grad()
with mx.autograd.record():
   m = func(x)
m.backward()
dx_grad = x.grad.asnumpy()
print(repr(dx_grad))

x = mx.nd.ones((2,))
x.attach_grad()
with mx.autograd.record():
   z = mx.nd.elemwise_add(mx.nd.exp(x), x)
dx_grad = mx.autograd.grad(z, [x], create_graph=True)
print(dx_grad)

init = mx.init.Normal(0.8)
print(repr(init.dumps()))

init = mx.init.Xavier(factor_type="in", magnitude=2.45)
print(repr(init.dumps()))

data = mx.sym.Variable('data')
module = mx.mod.Module(mx.sym.FullyConnected(data, num_hidden=1), label_names=None)
module.bind(data_shapes=[('data', (1, 3))])

init = mx.initializer.Mixed(['bias', '.*'], [mx.init.Zero(),
mx.init.Uniform(0.1)])
module.init_params(init)

for dictionary in module.get_params():
   for key in dictionary:
      print(key)
      print(dictionary[key].asnumpy())
