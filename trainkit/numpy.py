"""``mx.np``: MXNet's NumPy-compatible arrays, which trainkit does not have.

MXNet 1.x code often imports ``mxnet.numpy`` and uses it only when numpy mode is on
(``if is_np_array(): ...``, which is always False here); the import works, so such code
runs, and any use of the module says what to use instead.
"""


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(f"mx.np.{name}: MXNet's NumPy-compatible interface (mx.np, mx.npx) is not part of "
                         "trainkit. Use mx.nd, whose NDArrays and operators follow MXNet 1.x (mx.nd.array, "
                         "mx.nd.concat, mx.nd.random.uniform, ...).")
